/// Bounds-checked little-endian reads over a GGUF header. Every read names what it was reading,
/// so a truncated file fails with `ggufTruncated` saying where and inside what.
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - offset }

    mutating func integer<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw CheckpointError.ggufTruncated(path: path, reading: what(), at: bytes.count) }
        var value: T = 0
        for k in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + k]) << (8 * k) }   // little-endian on any host
        offset += size
        return value
    }

    /// A GGUF string: uint64 byte length, then that many bytes, which must be UTF-8.
    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let length = try integer(UInt64.self, "the length of \(what())")
        guard length <= UInt64(remaining) else {
            throw CheckpointError.ggufStringPastEnd(path: path, what: what(), length: length, remaining: remaining)
        }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))])
        offset += Int(length)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw CheckpointError.ggufInvalidMetadata(path: path, key: String(decoding: raw.prefix(80), as: UTF8.self),
                                                      reason: "\(what()) is not valid UTF-8")
        }
        return text
    }

    /// Moves to `target` (padding before the data section), which must lie inside the file.
    mutating func skip(to target: Int, _ what: String) throws {
        guard target <= bytes.count else { throw CheckpointError.ggufTruncated(path: path, reading: what, at: bytes.count) }
        offset = target
    }
}
