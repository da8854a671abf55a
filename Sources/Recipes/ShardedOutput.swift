import Foundation
import Checkpoints
import Tensors

/// The output weights as `count` shards of a Hugging Face sharded checkpoint
/// (`model-0000k-of-0000n.safetensors` + `model.safetensors.index.json`), split by tensor ranges:
/// names sorted, contiguous, balanced by bytes. `compress --output-shards N` writes all of them;
/// a shard of a weight-only quantization run (`--shard I/N`) writes shard I only, and the merge
/// links the shards' files in instead of writing them — the same bytes either way.
enum ShardedOutput {
    /// Tensor k goes to shard ⌊bytes before k · count / total bytes⌋.
    static func plan(_ specs: [TensorSpec], count: Int) throws -> [[TensorSpec]] {
        let sorted = specs.sorted { $0.name < $1.name }
        let total = max(1, sorted.reduce(0) { $0 + $1.byteCount })
        var groups = [[TensorSpec]](repeating: [], count: count), before = 0
        for spec in sorted {
            groups[min(count - 1, before * count / total)].append(spec)
            before += spec.byteCount
        }
        if let empty = groups.firstIndex(where: \.isEmpty) {
            throw RecipeError.invalid(jsonPath: "--output-shards", message: "cannot split \(sorted.count) tensors into \(count) shards by size: shard \(empty + 1) would be empty")
        }
        return groups
    }

    static func fileName(_ k: Int, of count: Int) -> String { ShardedWriter.shardName(k + 1, of: count) }

    /// Writes shard `only` (or every shard) of `model` into `folder`; a shard in `existing` (index → file) is moved in instead.
    static func writeShards(_ model: TensorStore, to folder: String, count: Int, only: Int? = nil, existing: [Int: String] = [:],
                            inputs: [String]) throws {
        let groups = try plan(model.names.compactMap { model.spec($0) }, count: count)
        for (k, group) in groups.enumerated() where only == nil || only == k {
            let path = folder + "/" + fileName(k, of: count)
            if let file = existing[k] {   // a hard link when it can (the partial stays intact for a second merge)
                do { try FileManager.default.linkItem(atPath: file, toPath: path) } catch {
                    do { try FileManager.default.copyItem(atPath: file, toPath: path) } catch {
                        throw RecipeError.writeFailed(path: path, reason: OutputFolder.reason(error))
                    }
                }
                continue
            }
            try SafetensorsWriter.write(to: path, specs: group, metadata: ["format": "pt"], inputs: inputs) { try model.tensor($0.name) }
        }
    }

    /// The index and `config.json`, once every shard is in `folder`.
    static func finish(_ model: TensorStore, folder: String, count: Int) throws {
        let groups = try plan(model.names.compactMap { model.spec($0) }, count: count)
        let names = (0..<count).map { fileName($0, of: count) }
        do {
            try Data(ShardedWriter.indexBytes(names: names, shards: groups)).write(to: URL(fileURLWithPath: folder + "/" + ShardIndex.fileName))
            let json = try JSONSerialization.data(withJSONObject: model.config, options: [.prettyPrinted, .sortedKeys])
            try json.write(to: URL(fileURLWithPath: folder + "/config.json"))
        } catch { throw RecipeError.writeFailed(path: folder, reason: OutputFolder.reason(error)) }
    }
}
