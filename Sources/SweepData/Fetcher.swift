import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SweepCore

/// Downloads a data set's official files into `<dir>/<name>/` and verifies each against its
/// published size and SHA-256. A file is moved into place only after it verifies; a corrupt or
/// truncated download is deleted and reported.
public enum DatasetFetcher {
    public struct File: Sendable { public let name: String; public let bytes: Int; public let sha256: String }
    public struct Source: Sendable { public let baseURL: String; public let files: [File] }

    public static let known: [String: Source] = [
        "fashion-mnist": Source(baseURL: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", files: [
            File(name: "train-images-idx3-ubyte.gz", bytes: 26_421_880, sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
            File(name: "train-labels-idx1-ubyte.gz", bytes: 29_515, sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
            File(name: "t10k-images-idx3-ubyte.gz", bytes: 4_422_102, sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
            File(name: "t10k-labels-idx1-ubyte.gz", bytes: 5_148, sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
        ]),
        "mnist": Source(baseURL: "https://ossci-datasets.s3.amazonaws.com/mnist/", files: [
            File(name: "train-images-idx3-ubyte.gz", bytes: 9_912_422, sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            File(name: "train-labels-idx1-ubyte.gz", bytes: 28_881, sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            File(name: "t10k-images-idx3-ubyte.gz", bytes: 1_648_877, sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            File(name: "t10k-labels-idx1-ubyte.gz", bytes: 4_542, sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        ]),
    ]

    /// Returns the paths written. `baseURL` overrides the official location (mirrors, tests).
    @discardableResult
    public static func fetch(_ name: String, into dir: String, baseURL: String? = nil,
                             progress: (String) -> Void = { _ in }) throws -> [String] {
        guard let source = known[name] else {
            throw InputError(field: "name", "unknown data set '\(name)'; accepted: \(known.keys.sorted().joined(separator: ", "))")
        }
        let target = dir + "/" + name
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        var base = baseURL ?? source.baseURL
        if !base.hasSuffix("/") { base += "/" }
        var written: [String] = []
        for f in source.files {
            let path = target + "/" + f.name
            if let existing = FileManager.default.contents(atPath: path), existing.count == f.bytes,
               SHA256.hex([UInt8](existing)) == f.sha256 {
                progress("\(f.name): already present, checksum ok")
                written.append(path)
                continue
            }
            guard let url = URL(string: base + f.name) else { throw InputError(field: "--base-url", "not a URL: \(base + f.name)") }
            progress("\(f.name): downloading \(url.absoluteString)")
            let data = try download(url)
            let bytes = [UInt8](data)
            guard bytes.count == f.bytes else {
                throw RuntimeFailure("\(url.absoluteString): got \(bytes.count) bytes, expected \(f.bytes) (truncated or wrong file); nothing was kept")
            }
            let sum = SHA256.hex(bytes)
            guard sum == f.sha256 else {
                throw RuntimeFailure("\(url.absoluteString): SHA-256 \(sum) does not match the official \(f.sha256) (corrupt download); nothing was kept")
            }
            let tmp = path + ".part"
            guard FileManager.default.createFile(atPath: tmp, contents: data) else { throw RuntimeFailure("cannot write \(tmp)") }
            _ = try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.moveItem(atPath: tmp, toPath: path)
            progress("\(f.name): \(bytes.count) bytes, checksum ok")
            written.append(path)
        }
        return written
    }

    static func download(_ url: URL) throws -> Data {
        final class Box: @unchecked Sendable { var data: Data?; var error: Error?; var status = 0 }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = 60
        let session = URLSession(configuration: config)
        session.dataTask(with: url) { data, response, error in
            box.data = data; box.error = error
            box.status = (response as? HTTPURLResponse)?.statusCode ?? 0
            done.signal()
        }.resume()
        done.wait()
        session.finishTasksAndInvalidate()
        if let e = box.error { throw RuntimeFailure("\(url.absoluteString): download failed: \(e.localizedDescription)") }
        guard box.status == 200 || (box.status == 0 && url.isFileURL), let data = box.data else {
            throw RuntimeFailure("\(url.absoluteString): the server answered HTTP \(box.status)")
        }
        return data
    }
}
