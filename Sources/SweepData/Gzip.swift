import CZlib
import SweepCore

enum Gzip {
    static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B }

    /// Decompresses a gzip stream; `file` names it in errors.
    static func decompress(_ bytes: [UInt8], file: String) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var outLen = 0
        let rc = bytes.withUnsafeBufferPointer { sweep_gunzip($0.baseAddress, $0.count, &out, &outLen) }
        switch rc {
        case 0:
            defer { free(out) }
            return Array(UnsafeBufferPointer(start: out, count: outLen))
        case 1:
            throw InputError(file: file, "the gzip stream is truncated (the file ends before its data does); download it again")
        default:
            throw InputError(file: file, "corrupt gzip data (zlib error \(rc)); download it again")
        }
    }
}
