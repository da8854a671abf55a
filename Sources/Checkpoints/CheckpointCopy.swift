import Tensors

extension Checkpoint {
    /// Streams every tensor into `path`, optionally converting floating-point tensors to `dtype`
    /// (integer and bool tensors are copied as they are). With `maxShardBytes`, `path` is a folder
    /// written by `ShardedWriter`; otherwise it is one `.safetensors` file. Tensors stream through
    /// `TensorSink` in slices whose source pages are released as they are written, so resident
    /// memory stays near one slice (16 MB) however large the checkpoint or its tensors.
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
        let stream: (TensorSpec, TensorSink) throws -> Void = { spec, sink in
            try sink.write(converting: try self.tensor(spec.name))
        }
        if let maxShardBytes {
            try ShardedWriter.write(folder: path, specs: specs, metadata: meta, maxShardBytes: maxShardBytes,
                                    inputs: inputs, stream: stream)
        } else {
            try SafetensorsWriter.write(to: path, specs: specs, metadata: meta, inputs: inputs, stream: stream)
        }
    }
}
