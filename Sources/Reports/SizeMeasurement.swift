import Checkpoints
import Evaluation
import Models
import Passes

extension SizeComparison {
    /// Measures two checkpoints (files or folders): bytes on disk, bytes after zlib deflate, parameters.
    /// Parameters are counted as trained (`logicalParameterCount`): quantization changes bytes, not parameters.
    /// For checkpoint folders that load as a model, also the parameters and MACs per token that still
    /// compute (`ComputingSize`: removed sublayers and masked units stored in the zeroed layout do not).
    public static func measure(original: String, compressed: String, deflate: Bool = true) throws -> SizeComparison {
        let a = try logicalParameterCount(Checkpoint(path: original)), b = try logicalParameterCount(Checkpoint(path: compressed))
        return SizeComparison(originalBytes: try onDiskBytes(original), compressedBytes: try onDiskBytes(compressed),
                              originalDeflatedBytes: deflate ? try deflatedBytes(original) : nil,
                              compressedDeflatedBytes: deflate ? try deflatedBytes(compressed) : nil,
                              originalParameters: a, compressedParameters: b,
                              computing: computingSizes(original: (original, a), compressed: (compressed, b)))
    }

    /// Both models' computing sizes, or nil when either does not load as a model (e.g. a bare tensor file).
    public static func computingSizes(original: (path: String, stored: Int), compressed: (path: String, stored: Int))
        -> (original: ComputingSize, compressed: ComputingSize)? {
        func size(_ path: String, _ stored: Int) -> ComputingSize? {
            guard let checkpoint = try? Checkpoint(path: path), let store = try? QuantizedTensorStore(checkpoint),
                  let model = try? TransformerModel.load(from: store), let whittle = try? WhittleConfig.read(from: checkpoint.config)
            else { return nil }
            return ComputingSize(model: model, whittle: whittle, storedParameters: stored)
        }
        guard let a = size(original.path, original.stored), let b = size(compressed.path, compressed.stored) else { return nil }
        return (a, b)
    }
}
