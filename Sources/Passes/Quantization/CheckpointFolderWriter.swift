import Foundation
import Checkpoints

/// Writes a model as a checkpoint folder (`model.safetensors`, streamed one tensor at a time, and
/// `config.json`). The quantization tests and bench use it; the pipeline has its own output stage.
public enum CheckpointFolderWriter {
    public static func write(_ model: TensorStore, to folder: String, inputs: [String] = []) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let specs = model.names.compactMap { model.spec($0) }
        try SafetensorsWriter.write(to: folder + "/model.safetensors", specs: specs, metadata: ["format": "pt"],
                                    inputs: inputs) { try model.tensor($0.name) }
        let json = try JSONSerialization.data(withJSONObject: model.config, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: URL(fileURLWithPath: folder + "/config.json"))
    }
}
