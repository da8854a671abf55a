import Foundation
import Tensors

/// A Hugging Face-style checkpoint folder: `config.json` plus `model.safetensors`, or shards named by
/// `model.safetensors.index.json`. A single `.safetensors` file is accepted too (no config).
/// Tensors are read lazily from memory maps.
public final class Checkpoint: @unchecked Sendable {
    public let path: String
    /// `config.json` as parsed JSON (empty when the checkpoint is a bare file).
    public let config: [String: Any]
    public let files: [SafetensorsFile]
    private let location: [String: (file: Int, info: TensorInfo)]
    /// Names in file order, then data order.
    public let names: [String]

    public init(path: String) throws {
        self.path = path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw CheckpointError.fileNotFound(path: path)
        }
        if !isFolder.boolValue {
            files = [try SafetensorsFile(path: path)]
            config = [:]
        } else {
            config = try Checkpoint.readConfig(folder: path)
            files = try Checkpoint.weightFiles(folder: path)
        }
        var location: [String: (Int, TensorInfo)] = [:]
        var names: [String] = []
        for (k, file) in files.enumerated() {
            for info in file.infos {
                if location[info.name] != nil { throw CheckpointError.duplicateTensor(path: file.path, name: info.name) }
                location[info.name] = (k, info)
                names.append(info.name)
            }
        }
        self.location = location
        self.names = names
    }

    public var isFolder: Bool { !config.isEmpty || files.count > 1 || !path.hasSuffix(".safetensors") }

    public func contains(_ name: String) -> Bool { location[name] != nil }

    public func info(_ name: String) -> TensorInfo? { location[name]?.info }

    /// A zero-copy view of a stored tensor.
    public func tensor(_ name: String) throws -> Tensor {
        guard let (file, info) = location[name] else { throw CheckpointError.tensorNotFound(path: path, name: name) }
        return files[file].tensor(info)
    }

    /// A stored tensor converted to Float32.
    public func floats(_ name: String) throws -> [Float] { try tensor(name).floats() }

    /// The file a tensor lives in (to release its pages after streaming).
    public func file(of name: String) -> SafetensorsFile? { location[name].map { files[$0.file] } }

    public var parameterCount: Int { location.values.reduce(0) { $0 + $1.info.elementCount } }
    public var byteCount: Int { location.values.reduce(0) { $0 + $1.info.byteCount } }

    static func readConfig(folder: String) throws -> [String: Any] {
        let configPath = folder + "/config.json"
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw CheckpointError.invalidConfig(path: configPath, reason: "missing (a checkpoint folder needs config.json)")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw CheckpointError.invalidConfig(path: configPath, reason: "not valid JSON")
        }
        guard let dict = object as? [String: Any] else {
            throw CheckpointError.invalidConfig(path: configPath, reason: "must be a JSON object")
        }
        return dict
    }

    static func weightFiles(folder: String) throws -> [SafetensorsFile] {
        let single = folder + "/model.safetensors"
        let index = folder + "/model.safetensors.index.json"
        if FileManager.default.fileExists(atPath: single) { return [try SafetensorsFile(path: single)] }
        if FileManager.default.fileExists(atPath: index) { return try ShardIndex(path: index).open() }
        if FileManager.default.fileExists(atPath: folder + "/pytorch_model.bin") {
            throw CheckpointError.invalidConfig(path: folder + "/pytorch_model.bin",
                                                reason: "PyTorch pickle weights are not supported; convert them to safetensors first")
        }
        throw CheckpointError.noWeights(folder: folder)
    }
}
