import Checkpoints
import Evaluation

extension SizeComparison {
    /// Measures two checkpoints (files or folders): bytes on disk, bytes after zlib deflate, parameters.
    /// Parameters are counted as trained (`logicalParameterCount`): quantization changes bytes, not parameters.
    public static func measure(original: String, compressed: String, deflate: Bool = true) throws -> SizeComparison {
        SizeComparison(originalBytes: try onDiskBytes(original), compressedBytes: try onDiskBytes(compressed),
                       originalDeflatedBytes: deflate ? try deflatedBytes(original) : nil,
                       compressedDeflatedBytes: deflate ? try deflatedBytes(compressed) : nil,
                       originalParameters: try logicalParameterCount(Checkpoint(path: original)),
                       compressedParameters: try logicalParameterCount(Checkpoint(path: compressed)))
    }
}
