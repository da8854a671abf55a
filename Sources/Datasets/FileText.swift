import CZlib
import Foundation

/// Reads a whole data file as UTF-8 text; `.gz` files are inflated through zlib.
func readText(_ path: String) throws -> String {
    guard FileManager.default.fileExists(atPath: path) else { throw DatasetError.fileNotFound(path: path) }
    let bytes: [UInt8]
    if path.lowercased().hasSuffix(".gz") {
        bytes = try gunzip(path)
    } else {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError.unreadable(path: path, reason: "permission denied or a folder")
        }
        bytes = [UInt8](data)
    }
    let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes[...]   // a UTF-8 BOM (spreadsheet CSVs)
    guard let text = String(validating: body, as: UTF8.self) else {
        throw DatasetError.unreadable(path: path, reason: "not valid UTF-8 text")
    }
    return text
}

/// Inflates a gzip file with zlib's gzread (streaming, any number of members).
func gunzip(_ path: String) throws -> [UInt8] {
    guard let file = gzopen(path, "rb") else { throw DatasetError.unreadable(path: path, reason: "gzopen failed") }
    defer { gzclose(file) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
        if n < 0 {
            var code: Int32 = 0
            let message = gzerror(file, &code).map { String(cString: $0) } ?? "error \(code)"
            throw DatasetError.unreadable(path: path, reason: "gzip: \(message)")
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<Int(n)])
    }
    return out
}
