/// GGUF header validation, separate from the mapping so a fuzzer can drive it on plain bytes.
/// Layout (ggml docs/gguf.md; llama.cpp gguf.cpp `gguf_init_from_file_impl`), all little-endian:
///   "GGUF", uint32 version (2 or 3), uint64 tensor count, uint64 metadata count,
///   metadata: string key, uint32 value type, value (arrays: uint32 element type, uint64 count, elements),
///   tensor infos: string name, uint32 n_dims ≤ 4, uint64 ne[n_dims], uint32 ggml type, uint64 offset,
///   padding to `general.alignment` (uint32, default 32, a power of two), then the data section.
/// Strings are uint64 length + UTF-8 bytes. Checked: every count and length against the bytes left,
/// unique keys and names, known value and ggml types, rows a whole number of blocks, element and byte
/// counts within Int, offsets aligned, data inside the file, and no two tensors overlapping.
public enum GGUFHeader {
    public struct Parsed: Sendable {
        public let version: UInt32
        /// Metadata keys in file order.
        public let keys: [String]
        public let metadata: [String: GGUFValue]
        /// Tensor infos in file order.
        public let tensors: [GGUFTensorInfo]
        public let alignment: Int
        /// File offset of the data section.
        public let dataStart: Int
    }

    public static let defaultAlignment = 32
    /// ggml's GGML_MAX_DIMS and GGML_MAX_NAME (names are at most 63 bytes).
    public static let maxDimensions = 4
    public static let maxNameBytes = 63
    /// Nested arrays deeper than this are refused (llama.cpp refuses any nesting).
    public static let maxArrayDepth = 8

    public static func parse(_ file: UnsafeRawBufferPointer, path: String) throws -> Parsed {
        var cursor = GGUFCursor(file, path: path)
        let magic = try cursor.integer(UInt32.self, "the magic")
        guard magic == 0x4655_4747 else {   // "GGUF" read as a little-endian uint32
            let found = (0..<4).map { hex(UInt8(truncatingIfNeeded: magic >> (8 * $0))) }.joined(separator: " ")
            throw CheckpointError.ggufBadMagic(path: path, found: found)
        }
        let version = try cursor.integer(UInt32.self, "the version")
        guard version == 2 || version == 3 else { throw CheckpointError.ggufUnsupportedVersion(path: path, version: version) }
        let tensorCount = try cursor.integer(UInt64.self, "the tensor count")
        let keyCount = try cursor.integer(UInt64.self, "the metadata count")
        // Smallest possible entries: a key (8-byte length, 4-byte type, 1-byte value); a tensor info
        // (8-byte name length, 4-byte n_dims, 4-byte type, 8-byte offset).
        if tensorCount > UInt64(cursor.remaining / 24) {
            throw CheckpointError.ggufCountTooLarge(path: path, what: "tensor infos", count: tensorCount, remaining: cursor.remaining)
        }
        if keyCount > UInt64(cursor.remaining / 13) {
            throw CheckpointError.ggufCountTooLarge(path: path, what: "metadata entries", count: keyCount, remaining: cursor.remaining)
        }

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        for k in 0..<Int(keyCount) {
            let key = try cursor.string("metadata key \(k)")
            guard !key.isEmpty else { throw CheckpointError.ggufInvalidMetadata(path: path, key: "", reason: "key \(k) is empty") }
            guard metadata[key] == nil else { throw CheckpointError.ggufDuplicateKey(path: path, key: key) }
            let rawType = try cursor.integer(UInt32.self, "the value type of '\(key)'")
            metadata[key] = try value(rawType, key: key, depth: 0, &cursor)
            keys.append(key)
        }

        var alignment = defaultAlignment
        if let value = metadata["general.alignment"] {
            guard case let .uint32(a) = value else {
                throw CheckpointError.ggufInvalidMetadata(path: path, key: "general.alignment", reason: "must be a uint32, found \(value.type)")
            }
            guard a != 0, a & (a - 1) == 0 else { throw CheckpointError.ggufBadAlignment(path: path, alignment: a) }
            alignment = Int(a)
        }

        var tensors: [GGUFTensorInfo] = []
        var names: Set<String> = []
        var unaligned: [(name: String, offset: UInt64)] = []
        for t in 0..<Int(tensorCount) {
            let name = try cursor.string("tensor name \(t)")
            guard names.insert(name).inserted else { throw CheckpointError.duplicateTensor(path: path, name: name) }
            let (info, rawOffset) = try tensorInfo(name: name, &cursor)
            if rawOffset % UInt64(alignment) != 0 { unaligned.append((name, rawOffset)) }
            tensors.append(info)
        }
        // Offsets are checked once the whole table is read, so a short table reports truncation first.
        if let first = unaligned.first {
            throw CheckpointError.ggufMisaligned(path: path, name: first.name, offset: first.offset, alignment: alignment)
        }
        let dataStart = (cursor.offset + alignment - 1) / alignment * alignment
        if !tensors.isEmpty { try cursor.skip(to: dataStart, "the padding before the tensor data") }
        let dataSize = max(0, file.count - dataStart)
        for info in tensors where info.offset > dataSize || info.byteCount > dataSize - info.offset {
            throw CheckpointError.offsetsOutOfBounds(path: path, name: info.name, end: info.offset &+ info.byteCount, dataSize: dataSize)
        }
        try checkOverlap(tensors, path: path)
        return Parsed(version: version, keys: keys, metadata: metadata, tensors: tensors, alignment: alignment, dataStart: dataStart)
    }

    /// One metadata value of type `rawType` (arrays recurse up to `maxArrayDepth`).
    static func value(_ rawType: UInt32, key: String, depth: Int, _ c: inout GGUFCursor) throws -> GGUFValue {
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw CheckpointError.ggufInvalidMetadata(path: c.path, key: key, reason: "unknown value type \(rawType)")
        }
        let what = "the value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try c.integer(UInt8.self, what))
        case .int8: return .int8(try c.integer(Int8.self, what))
        case .uint16: return .uint16(try c.integer(UInt16.self, what))
        case .int16: return .int16(try c.integer(Int16.self, what))
        case .uint32: return .uint32(try c.integer(UInt32.self, what))
        case .int32: return .int32(try c.integer(Int32.self, what))
        case .uint64: return .uint64(try c.integer(UInt64.self, what))
        case .int64: return .int64(try c.integer(Int64.self, what))
        case .float32: return .float32(Float(bitPattern: try c.integer(UInt32.self, what)))
        case .float64: return .float64(Double(bitPattern: try c.integer(UInt64.self, what)))
        case .string: return .string(try c.string(what))
        case .bool:
            let b = try c.integer(UInt8.self, what)
            guard b <= 1 else { throw CheckpointError.ggufInvalidMetadata(path: c.path, key: key, reason: "bool byte \(b) is neither 0 nor 1") }
            return .bool(b == 1)
        case .array:
            guard depth < maxArrayDepth else {
                throw CheckpointError.ggufInvalidMetadata(path: c.path, key: key, reason: "arrays nested deeper than \(maxArrayDepth) levels")
            }
            let rawElement = try c.integer(UInt32.self, "the element type of '\(key)'")
            guard let element = GGUFValueType(rawValue: rawElement) else {
                throw CheckpointError.ggufInvalidMetadata(path: c.path, key: key, reason: "unknown array element type \(rawElement)")
            }
            let count = try c.integer(UInt64.self, "the element count of '\(key)'")
            guard count <= UInt64(c.remaining / element.minimumBytes) else {
                throw CheckpointError.ggufCountTooLarge(path: c.path, what: "\(element) elements of '\(key)'", count: count, remaining: c.remaining)
            }
            var elements: [GGUFValue] = []
            elements.reserveCapacity(Int(count))
            for _ in 0..<Int(count) { elements.append(try value(rawElement, key: key, depth: depth + 1, &c)) }
            return .array(element, elements)
        }
    }

    /// The rest of a tensor info after its name; returns the raw offset for the alignment check.
    static func tensorInfo(name: String, _ c: inout GGUFCursor) throws -> (GGUFTensorInfo, UInt64) {
        let path = c.path
        guard name.utf8.count <= maxNameBytes else {
            throw CheckpointError.ggufInvalidTensor(path: path, name: String(name.prefix(80)), reason: "name is \(name.utf8.count) bytes, longer than ggml's \(maxNameBytes)")
        }
        let nDims = try c.integer(UInt32.self, "the dimension count of '\(name)'")
        guard nDims <= UInt32(maxDimensions) else {
            throw CheckpointError.ggufInvalidTensor(path: path, name: name, reason: "\(nDims) dimensions (ggml allows at most \(maxDimensions))")
        }
        var dims: [UInt64] = []
        for _ in 0..<nDims { dims.append(try c.integer(UInt64.self, "the dimensions of '\(name)'")) }
        let rawType = try c.integer(UInt32.self, "the ggml type of '\(name)'")
        let rawOffset = try c.integer(UInt64.self, "the data offset of '\(name)'")
        guard let type = GGMLType(rawValue: rawType) else { throw CheckpointError.ggufUnknownType(path: path, name: name, type: rawType) }

        let dimsText = "[" + dims.map(String.init).joined(separator: ", ") + "] (ggml order)"
        var count = 1
        for d in dims {
            guard d <= UInt64(Int.max) else { throw CheckpointError.ggufInvalidTensor(path: path, name: name, reason: "dimensions \(dimsText) overflow 64 bits") }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow else { throw CheckpointError.ggufInvalidTensor(path: path, name: name, reason: "dimensions \(dimsText) overflow 64 bits") }
            count = product
        }
        let rowLength = dims.first.map { Int($0) } ?? 1
        guard rowLength % type.blockSize == 0 else {
            throw CheckpointError.ggufInvalidTensor(path: path, name: name,
                                                    reason: "row length \(rowLength) is not a multiple of the \(type) block size \(type.blockSize)")
        }
        let (byteCount, overflow) = (count / type.blockSize).multipliedReportingOverflow(by: type.blockBytes)
        guard !overflow, rawOffset <= UInt64(Int.max) else {
            throw CheckpointError.ggufInvalidTensor(path: path, name: name, reason: "byte size or offset \(rawOffset) overflows 64 bits")
        }
        let info = GGUFTensorInfo(name: name, type: type, dimensions: dims.map { Int($0) }, offset: Int(rawOffset), byteCount: byteCount)
        return (info, rawOffset)
    }

    /// Tensors sorted by offset must not share bytes (gaps, e.g. alignment padding, are fine).
    static func checkOverlap(_ tensors: [GGUFTensorInfo], path: String) throws {
        let sorted = tensors.filter { $0.byteCount > 0 }.sorted { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.offset < a.offset + a.byteCount {
            throw CheckpointError.overlappingTensors(path: path, first: a.name, second: b.name)
        }
    }

    static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "0x" + String(digits[Int(b >> 4)]) + String(digits[Int(b & 15)])
    }
}
