import Foundation
import StrictJSON

/// `model.safetensors.index.json` (Hugging Face layout):
/// `{"metadata": {"total_size": N, …}, "weight_map": {tensor name: shard file name}}`.
/// Parsed with `StrictJSON`, so a tensor listed twice is an error rather than silently dropped.
public struct ShardIndex {
    public static let fileName = "model.safetensors.index.json"

    public let path: String
    public let weightMap: [String: String]
    public let metadata: [String: Any]

    public init(path: String) throws {
        self.path = path
        guard let data = FileManager.default.contents(atPath: path) else { throw CheckpointError.fileNotFound(path: path) }
        let json: JSON
        do { json = try JSON.parse(bytes: [UInt8](data)) } catch let e as JSONDuplicateKey {
            throw CheckpointError.invalidIndex(path: path, reason: "key '\(e.key)' appears twice in \(e.parents.last ?? "the top level")")
        } catch let e as JSONParseError {
            throw CheckpointError.invalidIndex(path: path, reason: "not valid JSON: \(e.message) at byte \(e.offset)")
        }
        guard case .object = json else { throw CheckpointError.invalidIndex(path: path, reason: "must be a JSON object") }
        guard case let .object(entries)? = json["weight_map"] else {
            throw CheckpointError.invalidIndex(path: path, reason: "weight_map must be an object of tensor name → shard file")
        }
        var map: [String: String] = [:]
        for (name, value) in entries {
            guard case let .string(shard) = value else {
                throw CheckpointError.invalidIndex(path: path, reason: "weight_map['\(name)'] must be a shard file name")
            }
            guard !shard.isEmpty, shard != ".", shard != "..", !shard.contains("/"), !shard.contains("\0") else {
                throw CheckpointError.invalidIndex(path: path, reason: "shard '\(shard)' must be a file name in the same folder")
            }
            map[name] = shard
        }
        weightMap = map
        metadata = json["metadata"]?.anyValue as? [String: Any] ?? [:]
    }

    /// Shard file names in order.
    public var shards: [String] { Set(weightMap.values).sorted() }

    /// Opens every shard and checks the map and the shards agree both ways.
    public func open() throws -> [SafetensorsFile] {
        let folder = (path as NSString).deletingLastPathComponent
        var files: [SafetensorsFile] = []
        for shard in shards {
            let shardPath = folder + "/" + shard
            guard FileManager.default.fileExists(atPath: shardPath) else {
                throw CheckpointError.shardMissing(index: path, shard: shard)
            }
            files.append(try SafetensorsFile(path: shardPath))
        }
        let byShard = Dictionary(uniqueKeysWithValues: zip(shards, files))
        for (name, shard) in weightMap.sorted(by: { $0.key < $1.key }) where !byShard[shard]!.contains(name) {
            throw CheckpointError.indexNamesMissingTensor(index: path, name: name, shard: shard)
        }
        for (shard, file) in zip(shards, files) {
            for name in file.names where weightMap[name] != shard {
                throw CheckpointError.indexOmitsTensor(index: path, name: name, shard: shard)
            }
        }
        return files
    }
}
