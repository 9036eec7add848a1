#if canImport(Glibc)
import Glibc
#endif

/// Creating the folders Sweep writes into (results, logs, artifacts), with errors a user can act on.
public enum Folders {
    /// Creates `path` and its missing parents (mode 0755). A folder that cannot be made is an
    /// `InputError` naming it, the `field` it came from, and the system's reason ("Permission
    /// denied", "Not a directory"), never a Foundation error code.
    public static func create(_ path: String, field: String? = nil) throws {
        var made = ""
        let absolute = path.hasPrefix("/")
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            made += (made.isEmpty && !absolute ? "" : "/") + part
            var st = stat()
            if stat(made, &st) == 0 {
                if (st.st_mode & S_IFMT) == S_IFDIR { continue }
                throw InputError(file: path, field: field, "cannot create this folder: \(made) is a file, not a folder")
            }
            if mkdir(made, 0o755) != 0 && errno != EEXIST {
                let reason = String(cString: strerror(errno))
                throw InputError(file: path, field: field, "cannot create this folder (\(made)): \(reason)")
            }
        }
    }

    /// Throws an `InputError` unless this process can create files in the existing folder `path`.
    public static func checkWritable(_ path: String, field: String? = nil) throws {
        if access(path, W_OK | X_OK) != 0 {
            throw InputError(file: path, field: field, "cannot write in this folder: \(String(cString: strerror(errno)))")
        }
    }
}
