import SweepCore

/// The IDX format of MNIST and Fashion-MNIST (gzip or raw; big-endian header).
public enum IDX {
    /// Images: magic 0x00000803, then n, rows, cols (int32), then n*rows*cols uint8 pixels.
    /// Returns pixels as floats in 0...255 and the shape [rows, cols, 1].
    public static func images(_ bytes: [UInt8], file: String) throws -> (pixels: [Float], count: Int, shape: [Int]) {
        try header(bytes, file: file, magic: 0x0000_0803, dims: 3)
        let n = int32(bytes, 4), rows = int32(bytes, 8), cols = int32(bytes, 12)
        let expected = 16 + n * rows * cols
        guard rows > 0, cols > 0, bytes.count == expected else {
            throw InputError(file: file, "IDX image file should hold \(n) images of \(rows)x\(cols) (\(expected) bytes) but has \(bytes.count) bytes: the file is truncated or corrupt")
        }
        var pixels = [Float](repeating: 0, count: n * rows * cols)
        pixels.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = Float(bytes[16 + i]) }
        }
        return (pixels, n, [rows, cols, 1])
    }

    /// Labels: magic 0x00000801, then n (int32), then n uint8 labels.
    public static func labels(_ bytes: [UInt8], file: String) throws -> [Int32] {
        try header(bytes, file: file, magic: 0x0000_0801, dims: 1)
        let n = int32(bytes, 4)
        guard bytes.count == 8 + n else {
            throw InputError(file: file, "IDX label file should hold \(n) labels (\(8 + n) bytes) but has \(bytes.count) bytes: the file is truncated or corrupt")
        }
        return bytes[8...].map { Int32($0) }
    }

    private static func header(_ bytes: [UInt8], file: String, magic: Int, dims: Int) throws {
        guard bytes.count >= 4 else { throw InputError(file: file, "too short for an IDX file (\(bytes.count) bytes)") }
        let m = int32(bytes, 0)
        guard m == magic else {
            throw InputError(file: file, "not an IDX file of the expected kind: magic number 0x\(String(m, radix: 16)), expected 0x\(String(magic, radix: 16))")
        }
        guard bytes.count >= 4 + 4 * dims else {
            throw InputError(file: file, "the IDX header is truncated (\(bytes.count) bytes)")
        }
    }

    static func int32(_ b: [UInt8], _ o: Int) -> Int {
        Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3])
    }
}
