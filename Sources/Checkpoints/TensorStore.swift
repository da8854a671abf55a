import Tensors

/// Anything models load from and writers write: named tensors plus `config.json`.
/// `Checkpoint` (read-only, memory-mapped) and `EditableCheckpoint` (what passes change) conform.
public protocol TensorStore: AnyObject {
    var config: [String: Any] { get }
    /// Tensor names in a stable order.
    var names: [String] { get }
    func spec(_ name: String) -> TensorSpec?
    func tensor(_ name: String) throws -> Tensor
}

/// A store that can write a tensor's bytes (as its `spec` says) straight into a sink, without
/// materialising the tensor (`GGUFTensorStore` dequantizes into the file's buffers);
/// `CheckpointFolderWriter` uses it when the store offers it.
public protocol TensorStreaming: TensorStore {
    func stream(_ name: String, into sink: TensorSink) throws
}

extension TensorStore {
    public func contains(_ name: String) -> Bool { spec(name) != nil }
    public func floats(_ name: String) throws -> [Float] { try tensor(name).floats() }
}

extension Checkpoint: TensorStore {
    public func spec(_ name: String) -> TensorSpec? {
        info(name).map { TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape) }
    }
}

/// Opens a model by path: a `.gguf` file as the Hugging Face checkpoint it stands for
/// (`GGUFTensorStore`), anything else as a `Checkpoint` (folder or `.safetensors` file).
public func openTensorStore(path: String) throws -> TensorStore {
    path.lowercased().hasSuffix(".gguf") ? try GGUFTensorStore(path: path) : try Checkpoint(path: path)
}
