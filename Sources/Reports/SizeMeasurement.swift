import Checkpoints
import Evaluation

extension SizeComparison {
    /// Measures two checkpoints (files or folders): bytes on disk, bytes after zlib deflate, parameters.
    /// Parameters count stored elements (a packed 4-bit tensor counts its bytes, as `compress inspect` does).
    public static func measure(original: String, compressed: String, deflate: Bool = true) throws -> SizeComparison {
        SizeComparison(originalBytes: try onDiskBytes(original), compressedBytes: try onDiskBytes(compressed),
                       originalDeflatedBytes: deflate ? try deflatedBytes(original) : nil,
                       compressedDeflatedBytes: deflate ? try deflatedBytes(compressed) : nil,
                       originalParameters: try Checkpoint(path: original).parameterCount,
                       compressedParameters: try Checkpoint(path: compressed).parameterCount)
    }
}
