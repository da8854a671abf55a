import Tensors
import StrictJSON

/// Header validation, separate from the mapping so the fuzzer can drive it on plain bytes.
/// Rules (safetensors format, checked in this order): 8-byte little-endian header length within
/// the limit and the file; UTF-8 JSON object without duplicate keys; `__metadata__` a string map;
/// each entry exactly {dtype, shape, data_offsets} with a known dtype, non-negative integer
/// dimensions whose element and byte counts fit in Int, and offsets spanning exactly that many
/// bytes inside the data region; the entries tile the data region with no overlap, gap or tail.
public enum SafetensorsHeader {
    public struct Parsed {
        public let infos: [TensorInfo]
        public let metadata: [String: String]
        public let dataStart: Int
    }

    public static func parse(_ file: UnsafeRawBufferPointer, path: String) throws -> Parsed {
        guard file.count >= 8 else { throw CheckpointError.tooSmall(path: path, size: file.count) }
        var headerLength: UInt64 = 0
        for k in 0..<8 { headerLength |= UInt64(file[k]) << (8 * UInt64(k)) }   // little-endian on any host
        if headerLength > UInt64(SafetensorsFile.headerLimit) {
            throw CheckpointError.headerTooLarge(path: path, headerLength: headerLength, limit: SafetensorsFile.headerLimit)
        }
        guard headerLength <= UInt64(file.count - 8) else {
            throw CheckpointError.headerLengthPastEnd(path: path, headerLength: headerLength, fileSize: file.count)
        }
        let n = Int(headerLength)
        let header = UnsafeRawBufferPointer(rebasing: file[8..<(8 + n)])
        guard String(validating: header, as: UTF8.self) != nil else { throw CheckpointError.headerNotUTF8(path: path) }
        let json: JSON
        do { json = try JSON.parse(header) } catch let e as JSONDuplicateKey {
            switch e.parents.first {
            case nil: throw CheckpointError.duplicateTensor(path: path, name: e.key)
            case "__metadata__": throw CheckpointError.invalidMetadata(path: path, reason: "has the key '\(e.key)' twice")
            case let tensor?: throw CheckpointError.invalidEntry(path: path, name: tensor, reason: "field '\(e.key)' appears twice")
            }
        } catch let e as JSONParseError {
            throw CheckpointError.invalidHeaderJSON(path: path, reason: "\(e.message) at header byte \(e.offset)")
        }
        guard case let .object(members) = json else { throw CheckpointError.headerNotObject(path: path) }

        let dataSize = file.count - 8 - n
        var metadata: [String: String] = [:]
        var infos: [TensorInfo] = []
        for (name, value) in members {
            if name == "__metadata__" {
                metadata = try parseMetadata(value, path: path)
            } else {
                infos.append(try entry(name: name, value: value, path: path, dataSize: dataSize))
            }
        }
        infos.sort { ($0.dataRange.lowerBound, $0.dataRange.upperBound) < ($1.dataRange.lowerBound, $1.dataRange.upperBound) }
        try checkTiling(infos, dataSize: dataSize, path: path)
        return Parsed(infos: infos, metadata: metadata, dataStart: 8 + n)
    }

    /// The tensors (sorted by offset) must tile the data region exactly: no overlap, no gap, nothing after.
    static func checkTiling(_ infos: [TensorInfo], dataSize: Int, path: String) throws {
        var cursor = 0
        var previous: TensorInfo?
        for info in infos {
            if info.dataRange.lowerBound < cursor, let previous {
                throw CheckpointError.overlappingTensors(path: path, first: previous.name, second: info.name)
            }
            if info.dataRange.lowerBound > cursor {
                throw CheckpointError.gapInData(path: path, after: previous?.name ?? "(start)", gapStart: cursor, gapEnd: info.dataRange.lowerBound)
            }
            cursor = info.dataRange.upperBound
            previous = info
        }
        if cursor != dataSize { throw CheckpointError.trailingBytes(path: path, used: cursor, dataSize: dataSize) }
    }

    static func parseMetadata(_ value: JSON, path: String) throws -> [String: String] {
        guard case let .object(pairs) = value else { throw CheckpointError.invalidMetadata(path: path, reason: "must be an object of strings") }
        var metadata: [String: String] = [:]
        for (k, v) in pairs {
            guard case let .string(s) = v else { throw CheckpointError.invalidMetadata(path: path, reason: "value of '\(k)' must be a string") }
            metadata[k] = s
        }
        return metadata
    }

    static func entry(name: String, value: JSON, path: String, dataSize: Int) throws -> TensorInfo {
        guard case let .object(fields) = value else {
            throw CheckpointError.invalidEntry(path: path, name: name, reason: "entry must be an object with dtype, shape, data_offsets")
        }
        var dtypeName: String?, shapeJSON: [JSON]?, offsetsJSON: [JSON]?
        for (k, v) in fields {
            switch (k, v) {
            case let ("dtype", .string(s)): dtypeName = s
            case let ("shape", .array(a)): shapeJSON = a
            case let ("data_offsets", .array(a)): offsetsJSON = a
            case ("dtype", _), ("shape", _), ("data_offsets", _):
                throw CheckpointError.invalidEntry(path: path, name: name, reason: "'\(k)' has the wrong JSON type")
            default:
                throw CheckpointError.invalidEntry(path: path, name: name, reason: "unexpected field '\(k)'")
            }
        }
        guard let dtypeName, let shapeJSON, let offsetsJSON else {
            throw CheckpointError.invalidEntry(path: path, name: name, reason: "needs dtype, shape and data_offsets")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw CheckpointError.unknownDType(path: path, name: name, dtype: dtypeName)
        }
        let shapeText = "[" + shapeJSON.map(compactText).joined(separator: ", ") + "]"
        var shape: [Int] = []
        var count = 1
        for d in shapeJSON {
            guard case let .number(s) = d, let v = Int(s), v >= 0 else {
                throw CheckpointError.invalidShape(path: path, name: name, shape: shapeText)
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: v)
            guard !overflow else { throw CheckpointError.invalidShape(path: path, name: name, shape: shapeText) }
            count = product
            shape.append(v)
        }
        let (expected, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw CheckpointError.invalidShape(path: path, name: name, shape: shapeText) }
        guard offsetsJSON.count == 2, case let .number(a) = offsetsJSON[0], case let .number(b) = offsetsJSON[1],
              let start = Int(a), let end = Int(b), start >= 0, end >= start else {
            throw CheckpointError.invalidEntry(path: path, name: name, reason: "data_offsets must be [begin, end] with 0 ≤ begin ≤ end")
        }
        guard end - start == expected else {
            throw CheckpointError.byteLengthMismatch(path: path, name: name, expected: expected, found: end - start)
        }
        guard end <= dataSize else {
            throw CheckpointError.offsetsOutOfBounds(path: path, name: name, end: end, dataSize: dataSize)
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataRange: start..<end)
    }

    /// Short text of a JSON value for error messages.
    static func compactText(_ value: JSON) -> String {
        switch value {
        case let .number(s): return s
        case let .string(s): return "\"\(s.prefix(40))\""
        case let .bool(b): return "\(b)"
        case .null: return "null"
        case .array: return "[…]"
        case .object: return "{…}"
        }
    }
}
