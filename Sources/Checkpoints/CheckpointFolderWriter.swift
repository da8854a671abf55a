import Foundation
import Tensors

/// Writes a model as a checkpoint folder (`model.safetensors`, streamed one tensor at a time, and
/// `config.json`). The pipeline (Recipes.OutputFolder), the tests and the bench all write through it.
public enum CheckpointFolderWriter {
    /// `written(k)` is called after the k-th tensor has been pulled (for progress lines).
    public static func write(_ model: TensorStore, to folder: String, inputs: [String] = [],
                             written: (Int) -> Void = { _ in }) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let specs = model.names.compactMap { model.spec($0) }
        // Tensors copied unchanged are views of the source map: drop each one's pages once written.
        let source = ((model as? EditableCheckpoint)?.source ?? model) as? Checkpoint
        var previous: String?
        var count = 0
        if let streaming = model as? TensorStreaming {   // bytes produced in the file's buffers
            try SafetensorsWriter.write(to: folder + "/model.safetensors", specs: specs, metadata: ["format": "pt"],
                                        inputs: inputs) { spec, sink in
                try streaming.stream(spec.name, into: sink)
                count += 1; written(count)
            }
        } else {
            try SafetensorsWriter.write(to: folder + "/model.safetensors", specs: specs, metadata: ["format": "pt"],
                                        inputs: inputs) { spec in
                if let source, let name = previous, let info = source.info(name) { source.file(of: name)?.release(info) }
                if previous != nil { count += 1; written(count) }
                previous = spec.name
                return try model.tensor(spec.name)
            }
        }
        let json = try JSONSerialization.data(withJSONObject: model.config, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: URL(fileURLWithPath: folder + "/config.json"))
    }
}
