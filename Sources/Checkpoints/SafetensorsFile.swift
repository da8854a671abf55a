import Tensors

/// One tensor's header entry.
public struct TensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range relative to the start of the data region.
    public let dataRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { dataRange.count }
}

/// A strictly validated, memory-mapped safetensors file with lazy access by name.
/// Format: 8-byte little-endian header length N, N bytes of JSON header, then the data region.
public final class SafetensorsFile: @unchecked Sendable {
    /// Largest header accepted (the reference implementation uses 100 MB).
    public static let headerLimit = 100_000_000

    public let path: String
    public let mapped: MappedFile
    /// Entries in data order (by offset).
    public let infos: [TensorInfo]
    public let metadata: [String: String]
    private let byName: [String: Int]
    private let dataStart: Int

    public init(path: String) throws {
        mapped = try MappedFile(path: path)
        self.path = path
        let parsed = try SafetensorsHeader.parse(mapped.bytes, path: path)
        infos = parsed.infos
        metadata = parsed.metadata
        dataStart = parsed.dataStart
        byName = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
    }

    public var names: [String] { infos.map(\.name) }

    public func info(_ name: String) -> TensorInfo? { byName[name].map { infos[$0] } }

    public func contains(_ name: String) -> Bool { byName[name] != nil }

    /// A zero-copy view of the tensor's bytes in the memory map.
    public func tensor(_ name: String) throws -> Tensor {
        guard let info = info(name) else { throw CheckpointError.tensorNotFound(path: path, name: name) }
        return tensor(info)
    }

    public func tensor(_ info: TensorInfo) -> Tensor {
        let pointer = (mapped.base ?? UnsafeRawPointer(bitPattern: 0x10)!) + dataStart + info.dataRange.lowerBound
        let storage = TensorStorage(viewing: pointer, byteCount: info.byteCount, owner: mapped)
        return Tensor(dtype: info.dtype, shape: info.shape, storage: storage)
    }

    /// Drops the pages of one tensor from memory after streaming it (they are re-read if needed).
    public func release(_ info: TensorInfo) {
        mapped.release(offset: dataStart + info.dataRange.lowerBound, count: info.byteCount)
    }
}
