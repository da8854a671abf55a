#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors

/// What the writer needs to know before any data: the header entry of one tensor.
public struct TensorSpec: Equatable, Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public init(name: String, dtype: DType, shape: [Int]) { self.name = name; self.dtype = dtype; self.shape = shape }
    public var byteCount: Int { shape.reduce(1, *) * dtype.byteSize }
}

/// Streaming, atomic safetensors writer. The header is computed from specs; tensors are then
/// produced and written one at a time, so memory holds one tensor, never the whole model.
/// Output goes to a temporary file that is fsynced and renamed over `path`.
public enum SafetensorsWriter {
    /// Writes `specs` (sorted by name) to `path`; `produce` is called once per spec in that order.
    /// `inputs` are files being read; writing over one of them is refused.
    public static func write(to path: String, specs: [TensorSpec], metadata: [String: String] = [:],
                             inputs: [String] = [], produce: (TensorSpec) throws -> Tensor) throws {
        try write(to: path, specs: specs, metadata: metadata, inputs: inputs, produce: produce, written: { _ in })
    }

    /// As above; `written` runs after each tensor's bytes are handed to the file.
    public static func write(to path: String, specs: [TensorSpec], metadata: [String: String] = [:],
                             inputs: [String] = [], produce: (TensorSpec) throws -> Tensor,
                             written: (TensorSpec) -> Void) throws {
        try write(to: path, specs: specs, metadata: metadata, inputs: inputs) { spec, sink in
            try sink.write(try produce(spec))
            written(spec)
        }
    }

    /// The streaming core: `stream` is called once per spec (sorted by name) and hands the tensor's
    /// bytes to `sink` in as many slices as it likes; they must add up to exactly `spec.byteCount`.
    public static func write(to path: String, specs: [TensorSpec], metadata: [String: String] = [:],
                             inputs: [String] = [], stream: (TensorSpec, TensorSink) throws -> Void) throws {
        try refuseOverwrite(path, inputs: inputs)
        try validate(specs, path: path)
        let ordered = specs.sorted { $0.name < $1.name }
        let header = headerBytes(ordered, metadata: metadata)
        let temporary = path + ".tmp-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let file = try OutputFile(temporary: temporary, destination: path)
        do {
            var length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &length) { try file.write($0) }
            try header.withUnsafeBytes { try file.write($0) }
            for spec in ordered {
                let sink = TensorSink(file: file, spec: spec, path: path)
                try stream(spec, sink)
                guard sink.written == spec.byteCount else {
                    throw CheckpointError.writeFailed(path: path, reason: "tensor '\(spec.name)' got \(sink.written) of its \(spec.byteCount) bytes")
                }
            }
            try file.finish()
            guard rename(temporary, path) == 0 else {
                throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            syncDirectory(of: path)
        } catch {
            file.abandon()
            unlink(temporary)
            throw error
        }
    }

    /// Specs must have distinct names (not `__metadata__`) and valid shapes.
    static func validate(_ specs: [TensorSpec], path: String) throws {
        var seen = Set<String>()
        for spec in specs {
            guard spec.name != "__metadata__" else {
                throw CheckpointError.writeFailed(path: path, reason: "'__metadata__' is reserved and cannot name a tensor")
            }
            guard seen.insert(spec.name).inserted else {
                throw CheckpointError.writeFailed(path: path, reason: "tensor '\(spec.name)' is listed twice")
            }
            var count = spec.dtype.byteSize
            for d in spec.shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard d >= 0, !overflow else {
                    throw CheckpointError.writeFailed(path: path, reason: "tensor '\(spec.name)' has invalid shape \(spec.shape)")
                }
                count = product
            }
        }
    }

    /// fsync of the folder makes the rename itself durable (best effort: some file systems refuse).
    static func syncDirectory(of path: String) {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let fd = open(folder, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Writes in-memory tensors.
    public static func write(to path: String, tensors: [String: Tensor], metadata: [String: String] = [:],
                             inputs: [String] = []) throws {
        let specs = tensors.map { TensorSpec(name: $0.key, dtype: $0.value.dtype, shape: $0.value.shape) }
        try write(to: path, specs: specs, metadata: metadata, inputs: inputs) { tensors[$0.name]! }
    }

    /// The JSON header (sorted keys, `__metadata__` first), space-padded to a multiple of 8 bytes.
    public static func headerBytes(_ ordered: [TensorSpec], metadata: [String: String]) -> [UInt8] {
        var parts: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for spec in ordered {
            let end = offset + spec.byteCount
            let shape = spec.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(spec.name)):{\"dtype\":\"\(spec.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var bytes = Array("{\(parts.joined(separator: ","))}".utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        return bytes
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += unicodeEscape(scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    static func unicodeEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: Swift.max(0, 4 - hex.count)) + hex
    }

    static func refuseOverwrite(_ path: String, inputs: [String]) throws {
        var target = stat()
        guard stat(path, &target) == 0 else { return }   // does not exist yet
        for input in inputs {
            var other = stat()
            if stat(input, &other) == 0, other.st_dev == target.st_dev, other.st_ino == target.st_ino {
                throw CheckpointError.wouldOverwriteInput(path: path)
            }
        }
    }
}
