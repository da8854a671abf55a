/// A stored tensor: dtype, shape (row-major) and raw little-endian bytes.
/// Models compute in Float32: use `floats()` to convert, `Tensor(floats:shape:dtype:)` to store.
public struct Tensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let storage: TensorStorage

    public init(dtype: DType, shape: [Int], storage: TensorStorage) {
        precondition(storage.byteCount == shape.reduce(1, *) * dtype.byteSize,
                     "Tensor: \(storage.byteCount) bytes do not hold \(shape) of \(dtype)")
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    /// Copies raw little-endian bytes into a new tensor.
    public init(dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer) {
        let storage = TensorStorage(zeroedByteCount: bytes.count)
        if bytes.count > 0 { storage.mutableBytes.copyMemory(from: bytes) }
        self.init(dtype: dtype, shape: shape, storage: storage)
    }

    /// Stores Float32 values as `dtype` (rounding to nearest even for F16/BF16, saturating for integers).
    public init(floats: [Float], shape: [Int], dtype: DType = .F32) {
        precondition(floats.count == shape.reduce(1, *), "Tensor: \(floats.count) values for shape \(shape)")
        let storage = TensorStorage(uninitializedByteCount: floats.count * dtype.byteSize)
        floats.withUnsafeBufferPointer { src in
            DTypeConversion.store(src, as: dtype, into: storage.mutableBytes)
        }
        self.init(dtype: dtype, shape: shape, storage: storage)
    }

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { storage.byteCount }
    /// The raw bytes; valid only while this tensor (its storage) is alive — prefer `withUnsafeBytes`.
    public var bytes: UnsafeRawBufferPointer { storage.bytes }

    /// Runs `body` on the raw bytes, keeping the storage alive meanwhile.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(storage.bytes) }
    }

    /// The stored elements reinterpreted as `T` (e.g. `UInt16` for F16/BF16 bit patterns), copied.
    public func elements<T>(as type: T.Type) -> [T] {
        precondition(byteCount % MemoryLayout<T>.stride == 0, "Tensor.elements: \(byteCount) bytes are not a whole number of \(T.self)")
        return withUnsafeBytes { Array($0.bindMemory(to: T.self)) }
    }

    /// The values converted to Float32 (a copy).
    public func floats() -> [Float] {
        [Float](unsafeUninitializedCapacity: elementCount) { buffer, count in
            DTypeConversion.load(storage.bytes, as: dtype, into: buffer)
            count = elementCount
        }
    }

    /// Converts values into a caller-provided buffer of `elementCount` floats.
    public func loadFloats(into buffer: UnsafeMutableBufferPointer<Float>) {
        precondition(buffer.count == elementCount)
        DTypeConversion.load(storage.bytes, as: dtype, into: buffer)
    }

    /// The same bytes viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(dtype: dtype, shape: newShape, storage: storage)
    }

    /// Values converted to another stored type.
    public func converted(to target: DType) -> Tensor {
        if target == dtype { return self }
        let storage = TensorStorage(uninitializedByteCount: elementCount * target.byteSize)
        DTypeConversion.convert(bytes, from: dtype, into: storage.mutableBytes, to: target)
        return Tensor(dtype: target, shape: shape, storage: storage)
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], dtype: DType = .F32) -> Tensor {
        Tensor(dtype: dtype, shape: shape, storage: TensorStorage(zeroedByteCount: shape.reduce(1, *) * dtype.byteSize))
    }
}
