import Foundation
import SweepCore

enum FileIO {
    /// Reads a whole file, decompressing it when it is gzip.
    static func read(_ path: String, field: String? = nil) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError(file: path, field: field, "no such file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(file: path, field: field, "cannot read the file")
        }
        let bytes = [UInt8](data)
        return Gzip.isGzip(bytes) ? try Gzip.decompress(bytes, file: path) : bytes
    }
}
