/// This build of Sweep (`sweep --version`).
public enum SweepVersion {
    public static let string = "0.10.0"
}
