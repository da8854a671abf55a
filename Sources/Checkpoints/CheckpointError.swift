/// Errors reading or writing checkpoints. Each names the file (and tensor) and what was expected.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case tooSmall(path: String, size: Int)
    case headerLengthPastEnd(path: String, headerLength: UInt64, fileSize: Int)
    case headerTooLarge(path: String, headerLength: UInt64, limit: Int)
    case headerNotUTF8(path: String)
    case invalidHeaderJSON(path: String, reason: String)
    case headerNotObject(path: String)
    case duplicateTensor(path: String, name: String)
    case invalidEntry(path: String, name: String, reason: String)
    case unknownDType(path: String, name: String, dtype: String)
    case invalidShape(path: String, name: String, shape: String)
    case byteLengthMismatch(path: String, name: String, expected: Int, found: Int)
    case offsetsOutOfBounds(path: String, name: String, end: Int, dataSize: Int)
    case overlappingTensors(path: String, first: String, second: String)
    case gapInData(path: String, after: String, gapStart: Int, gapEnd: Int)
    case trailingBytes(path: String, used: Int, dataSize: Int)
    case invalidMetadata(path: String, reason: String)
    case tensorNotFound(path: String, name: String)
    case invalidIndex(path: String, reason: String)
    case shardMissing(index: String, shard: String)
    case indexNamesMissingTensor(index: String, name: String, shard: String)
    case indexOmitsTensor(index: String, name: String, shard: String)
    case noWeights(folder: String)
    case invalidConfig(path: String, reason: String)
    case wouldOverwriteInput(path: String)
    case writeFailed(path: String, reason: String)
    // GGUF (GGUFHeader); tensor-level problems reuse duplicateTensor, offsetsOutOfBounds, overlappingTensors.
    case ggufTruncated(path: String, reading: String, at: Int)
    case ggufBadMagic(path: String, found: String)
    case ggufUnsupportedVersion(path: String, version: UInt32)
    case ggufCountTooLarge(path: String, what: String, count: UInt64, remaining: Int)
    case ggufStringPastEnd(path: String, what: String, length: UInt64, remaining: Int)
    case ggufInvalidMetadata(path: String, key: String, reason: String)
    case ggufDuplicateKey(path: String, key: String)
    case ggufBadAlignment(path: String, alignment: UInt32)
    case ggufUnknownType(path: String, name: String, type: UInt32)
    case ggufInvalidTensor(path: String, name: String, reason: String)
    case ggufMisaligned(path: String, name: String, offset: UInt64, alignment: Int)
    case ggufCannotDequantize(path: String, name: String, type: String)
    case ggufMissingKey(path: String, key: String)
    case ggufUnsupportedModel(path: String, reason: String)
    case ggufInvalidTokenizer(path: String, key: String, reason: String)
    case ggufCannotExport(path: String, reason: String)

    /// One line: control characters in names and paths (possible in a hostile header) are escaped.
    public var description: String {
        var line = ""
        for scalar in message.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F { line += "\\u{\(String(scalar.value, radix: 16))}" }
            else { line.unicodeScalars.append(scalar) }
        }
        return line
    }

    private var message: String {
        switch self {
        case let .fileNotFound(p): return "\(p): no such file or folder"
        case let .unreadable(p, r): return "\(p): cannot read (\(r))"
        case let .tooSmall(p, s): return "\(p): \(s) bytes is too small for a safetensors file (needs an 8-byte header length)"
        case let .headerLengthPastEnd(p, h, f): return "\(p): header length \(h) runs past the end of the \(f)-byte file (truncated?)"
        case let .headerTooLarge(p, h, l): return "\(p): header length \(h) exceeds the limit of \(l) bytes"
        case let .headerNotUTF8(p): return "\(p): header is not valid UTF-8"
        case let .invalidHeaderJSON(p, r): return "\(p): header is not valid JSON (\(r))"
        case let .headerNotObject(p): return "\(p): header must be a JSON object of tensor entries"
        case let .duplicateTensor(p, n): return "\(p): tensor '\(n)' appears twice in the header"
        case let .invalidEntry(p, n, r): return "\(p): tensor '\(n)': \(r)"
        case let .unknownDType(p, n, d): return "\(p): tensor '\(n)': unknown dtype '\(d)' (expected one of \(DTypeNames.all))"
        case let .invalidShape(p, n, s): return "\(p): tensor '\(n)': invalid shape \(s) (dimensions must be non-negative and the element count must fit in 64 bits)"
        case let .byteLengthMismatch(p, n, e, f): return "\(p): tensor '\(n)': data_offsets span \(f) bytes but shape × dtype needs \(e)"
        case let .offsetsOutOfBounds(p, n, e, d): return "\(p): tensor '\(n)': data ends at byte \(e), past the \(d)-byte data region"
        case let .overlappingTensors(p, a, b): return "\(p): tensors '\(a)' and '\(b)' overlap in the data region"
        case let .gapInData(p, a, s, e): return "\(p): unused bytes \(s)..<\(e) in the data region after tensor '\(a)'"
        case let .trailingBytes(p, u, d): return "\(p): tensors use \(u) of \(d) data bytes; the rest is unaccounted for"
        case let .invalidMetadata(p, r): return "\(p): __metadata__ \(r)"
        case let .tensorNotFound(p, n): return "\(p): no tensor named '\(n)'"
        case let .invalidIndex(p, r): return "\(p): invalid shard index (\(r))"
        case let .shardMissing(i, s): return "\(i): names shard '\(s)', which does not exist"
        case let .indexNamesMissingTensor(i, n, s): return "\(i): maps '\(n)' to '\(s)', which has no such tensor"
        case let .indexOmitsTensor(i, n, s): return "\(i): shard '\(s)' holds '\(n)', which the weight_map does not list"
        case let .noWeights(f): return "\(f): no model.safetensors or model.safetensors.index.json in this folder"
        case let .invalidConfig(p, r): return "\(p): \(r)"
        case let .wouldOverwriteInput(p): return "\(p): refusing to overwrite a file that is being read"
        case let .writeFailed(p, r): return "\(p): write failed (\(r))"
        case let .ggufTruncated(p, w, a): return "\(p): the file ends at byte \(a) while reading \(w) (truncated?)"
        case let .ggufBadMagic(p, f): return "\(p): not a GGUF file (starts with \(f), expected 'GGUF')"
        case let .ggufUnsupportedVersion(p, v): return "\(p): GGUF version \(v) is not supported (expected 2 or 3)"
        case let .ggufCountTooLarge(p, w, c, r): return "\(p): \(c) \(w) cannot fit in the \(r) bytes left in the file"
        case let .ggufStringPastEnd(p, w, l, r): return "\(p): \(w) is a string of \(l) bytes, past the end of the file (\(r) bytes left)"
        case let .ggufInvalidMetadata(p, k, r): return "\(p): metadata '\(k)': \(r)"
        case let .ggufDuplicateKey(p, k): return "\(p): metadata key '\(k)' appears twice"
        case let .ggufBadAlignment(p, a): return "\(p): general.alignment \(a) is not a power of two"
        case let .ggufUnknownType(p, n, t): return "\(p): tensor '\(n)': unknown ggml type \(t)"
        case let .ggufInvalidTensor(p, n, r): return "\(p): tensor '\(n)': \(r)"
        case let .ggufMisaligned(p, n, o, a): return "\(p): tensor '\(n)': data offset \(o) is not a multiple of the alignment \(a)"
        case let .ggufCannotDequantize(p, n, t): return "\(p): tensor '\(n)': cannot dequantize ggml type \(t) (supported: \(GGMLType.dequantizable.map(\.name).joined(separator: ", ")))"
        case let .ggufMissingKey(p, k): return "\(p): metadata key '\(k)' is missing (needed to build config.json)"
        case let .ggufUnsupportedModel(p, r): return "\(p): \(r)"
        case let .ggufInvalidTokenizer(p, k, r): return "\(p): \(k.isEmpty ? "" : "'\(k)': ")\(r)"
        case let .ggufCannotExport(p, r): return "\(p): cannot write as GGUF: \(r)"
        }
    }
}

enum DTypeNames {
    static let all = "F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2"
}
