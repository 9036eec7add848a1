import SweepCore

/// The CIFAR-10 binary format: records of 1 label byte then 3072 pixel bytes (1024 red, 1024
/// green, 1024 blue, each 32x32 row-major). Converted to channels-last [32, 32, 3].
public enum CIFAR10 {
    public static let classNames = ["airplane", "automobile", "bird", "cat", "deer",
                                    "dog", "frog", "horse", "ship", "truck"]
    static let recordSize = 1 + 3072

    public static func parse(_ bytes: [UInt8], file: String) throws -> (pixels: [Float], labels: [Int32]) {
        guard !bytes.isEmpty, bytes.count % recordSize == 0 else {
            throw InputError(file: file, "a CIFAR-10 binary file is a whole number of \(recordSize)-byte records; this one has \(bytes.count) bytes")
        }
        let n = bytes.count / recordSize
        var pixels = [Float](repeating: 0, count: n * 3072)
        var labels = [Int32](repeating: 0, count: n)
        for r in 0..<n {
            let base = r * recordSize
            let label = bytes[base]
            guard label < 10 else {
                throw InputError(file: file, "record \(r) has label \(label); CIFAR-10 labels are 0...9")
            }
            labels[r] = Int32(label)
            for c in 0..<3 {
                for p in 0..<1024 {
                    pixels[r * 3072 + p * 3 + c] = Float(bytes[base + 1 + c * 1024 + p])
                }
            }
        }
        return (pixels, labels)
    }
}
