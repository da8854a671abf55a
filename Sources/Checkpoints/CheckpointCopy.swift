import Tensors

extension Checkpoint {
    /// Streams every tensor into `path`, optionally converting floating-point tensors to `dtype`
    /// (integer and bool tensors are copied as they are). With `maxShardBytes`, `path` is a folder
    /// written by `ShardedWriter`; otherwise it is one `.safetensors` file. The source pages of
    /// each tensor are released once it is written, so resident memory stays near one tensor
    /// (plus its converted copy) however large the checkpoint.
    public func copyWeights(to path: String, convertingFloatsTo dtype: DType? = nil, maxShardBytes: Int? = nil,
                            metadata: [String: String]? = nil) throws {
        precondition(dtype?.isWritableFromFloat ?? true, "copyWeights: \(dtype!) cannot be written")
        func target(_ stored: DType) -> DType {
            guard let dtype, stored.isFloatingPoint else { return stored }
            return dtype
        }
        let specs = names.map { name -> TensorSpec in
            let info = info(name)!
            return TensorSpec(name: name, dtype: target(info.dtype), shape: info.shape)
        }
        let meta = metadata ?? files.first?.metadata ?? [:]
        let inputs = files.map(\.path)
        let produce: (TensorSpec) throws -> Tensor = { spec in try self.tensor(spec.name).converted(to: spec.dtype) }
        let written: (TensorSpec) -> Void = { spec in
            if let file = self.file(of: spec.name), let info = file.info(spec.name) { file.release(info) }
        }
        if let maxShardBytes {
            try ShardedWriter.write(folder: path, specs: specs, metadata: meta, maxShardBytes: maxShardBytes,
                                    inputs: inputs, produce: produce, written: written)
        } else {
            try SafetensorsWriter.write(to: path, specs: specs, metadata: meta, inputs: inputs,
                                        produce: produce, written: written)
        }
    }
}
