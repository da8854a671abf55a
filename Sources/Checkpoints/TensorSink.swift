import Tensors

/// Where `SafetensorsWriter`'s streaming core sends one tensor's bytes. Slices arrive in order;
/// the writer checks they add up to the header's byte count.
public final class TensorSink {
    public let spec: TensorSpec
    public private(set) var written = 0
    private let file: OutputFile
    private let path: String

    /// Source slices are at most this many bytes, so a huge mapped tensor is never resident at once.
    public static let sliceBytes = 16 << 20

    init(file: OutputFile, spec: TensorSpec, path: String) {
        self.file = file
        self.spec = spec
        self.path = path
    }

    /// Appends raw little-endian bytes of the tensor.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard written + bytes.count <= spec.byteCount else {
            throw CheckpointError.writeFailed(path: path, reason: "tensor '\(spec.name)' got more than its \(spec.byteCount) bytes")
        }
        try file.write(bytes)
        written += bytes.count
    }

    /// The most bytes one `fill` can take (one file buffer).
    public static let fillLimit = OutputFile.bufferBytes

    /// Lets `body` produce bytes in place, straight into the file's buffer: it gets free space of at
    /// least `minimum` bytes (≤ `fillLimit`) and returns how many bytes at its start it wrote.
    public func fill(minimum: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Int) throws {
        let space = try file.reserve(minimum: minimum)
        let n = try body(space)
        guard n >= 0, n <= space.count, written + n <= spec.byteCount else {
            throw CheckpointError.writeFailed(path: path, reason: "tensor '\(spec.name)' got more than its \(spec.byteCount) bytes")
        }
        try file.commit(n)
        written += n
    }

    /// Writes a whole tensor of the spec's dtype and shape. A view of a memory-mapped file is
    /// copied in slices whose pages are released right after.
    public func write(_ tensor: Tensor) throws {
        try check(tensor, dtype: spec.dtype)
        try tensor.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = min(Self.sliceBytes, raw.count - offset)
                tensor.storage.prefetchPages(offset: offset, count: n)
                try write(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)]))
                tensor.storage.releasePages(offset: offset, count: n)
                offset += n
            }
        }
    }

    /// Writes `tensor` converted to the spec's dtype (see `DTypeConversion.convert`) straight into
    /// the file's buffer, slice by slice, releasing the source pages of each slice: memory stays at
    /// one slice however large the tensor, and the conversion overlaps the file's background write.
    public func write(converting tensor: Tensor) throws {
        guard tensor.dtype != spec.dtype else { return try write(tensor) }
        try check(tensor, dtype: tensor.dtype)
        let from = tensor.dtype, to = spec.dtype
        let count = tensor.elementCount
        guard written + count * to.byteSize <= spec.byteCount else {
            throw CheckpointError.writeFailed(path: path, reason: "tensor '\(spec.name)' got more than its \(spec.byteCount) bytes")
        }
        try tensor.withUnsafeBytes { raw in
            var start = 0
            while start < count {
                let space = try file.reserve(minimum: to.byteSize)
                let n = min(space.count / to.byteSize, count - start)
                let source = UnsafeRawBufferPointer(rebasing: raw[(start * from.byteSize)..<((start + n) * from.byteSize)])
                tensor.storage.prefetchPages(offset: start * from.byteSize, count: n * from.byteSize)
                DTypeConversion.convert(source, from: from, into: UnsafeMutableRawBufferPointer(rebasing: space[0..<(n * to.byteSize)]), to: to)
                try file.commit(n * to.byteSize)
                written += n * to.byteSize
                tensor.storage.releasePages(offset: start * from.byteSize, count: n * from.byteSize)
                start += n
            }
        }
    }

    private func check(_ tensor: Tensor, dtype: DType) throws {
        guard tensor.shape == spec.shape, tensor.dtype == dtype else {
            throw CheckpointError.writeFailed(path: path, reason: "tensor '\(spec.name)' was produced as \(tensor.dtype) \(tensor.shape), header says \(spec.dtype) \(spec.shape)")
        }
    }
}
