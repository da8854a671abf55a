import Tensors

/// A strictly validated, memory-mapped GGUF file (v2 or v3) with lazy access by tensor name.
/// Metadata is typed (`GGUFValue`); tensors keep their ggml type, report PyTorch-order shapes and
/// can be read raw or dequantized to Float32.
/// The header's fields (`version`, `keys`, `metadata`, `tensors`, `alignment`, `dataStart`) read through.
@dynamicMemberLookup
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let mapped: MappedFile
    public let header: GGUFHeader.Parsed
    private let byName: [String: Int]

    public init(path: String) throws {
        mapped = try MappedFile(path: path)
        self.path = path
        header = try GGUFHeader.parse(mapped.bytes, path: path)
        byName = Dictionary(uniqueKeysWithValues: header.tensors.enumerated().map { ($1.name, $0) })
    }

    public subscript<T>(dynamicMember field: KeyPath<GGUFHeader.Parsed, T>) -> T { header[keyPath: field] }
    var tensors: [GGUFTensorInfo] { header.tensors }
    var dataStart: Int { header.dataStart }

    public var names: [String] { tensors.map(\.name) }

    public func info(_ name: String) -> GGUFTensorInfo? { byName[name].map { tensors[$0] } }

    /// The stored bytes of a tensor: a zero-copy U8 view of the memory map (shape [byteCount]).
    public func rawTensor(_ name: String) throws -> Tensor {
        let info = try require(name)
        let pointer = (mapped.base ?? UnsafeRawPointer(bitPattern: 0x10)!) + dataStart + info.offset
        return Tensor(dtype: .U8, shape: [info.byteCount], storage: TensorStorage(viewing: pointer, byteCount: info.byteCount, owner: mapped))
    }

    /// The tensor as Float32 in PyTorch order, dequantized from its ggml type.
    public func floats(_ name: String) throws -> [Float] {
        let info = try require(name)
        guard GGMLType.dequantizable.contains(info.type) else {
            throw CheckpointError.ggufCannotDequantize(path: path, name: name, type: info.type.name)
        }
        let raw = try rawTensor(name)
        return [Float](unsafeUninitializedCapacity: info.elementCount) { out, count in
            raw.withUnsafeBytes { dequantizeGGML(out, $0, type: info.type) }
            count = info.elementCount
        }
    }

    /// The tensor dequantized to an F32 `Tensor` of shape `info.shape`.
    public func dequantized(_ name: String) throws -> Tensor {
        let values = try floats(name)
        return Tensor(floats: values, shape: try require(name).shape)
    }

    private func require(_ name: String) throws -> GGUFTensorInfo {
        guard let info = info(name) else { throw CheckpointError.tensorNotFound(path: path, name: name) }
        return info
    }
}
