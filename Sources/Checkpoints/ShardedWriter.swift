#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors

/// Writes a checkpoint's weights into a folder the Hugging Face way: `model.safetensors` when
/// everything fits in one shard, otherwise `model-0000k-of-0000n.safetensors` plus
/// `model.safetensors.index.json` (`metadata.total_size`, `weight_map`).
/// Streaming like `SafetensorsWriter.write`. Every shard is written atomically under a temporary
/// name first; only when all are complete are they renamed into place and the index written
/// (atomically, last), so a failure never leaves a half-written checkpoint behind.
public enum ShardedWriter {
    /// Greedy plan in name order (as `huggingface_hub.split_torch_state_dict_into_shards`): start a
    /// new shard when the next tensor would pass `maxShardBytes`; a larger tensor gets a shard of its own.
    public static func plan(_ specs: [TensorSpec], maxShardBytes: Int) -> [[TensorSpec]] {
        precondition(maxShardBytes > 0, "ShardedWriter.plan: maxShardBytes must be positive")
        var shards: [[TensorSpec]] = []
        var current: [TensorSpec] = []
        var size = 0
        for spec in specs.sorted(by: { $0.name < $1.name }) {
            if !current.isEmpty && size + spec.byteCount > maxShardBytes {
                shards.append(current); current = []; size = 0
            }
            current.append(spec); size += spec.byteCount
        }
        if !current.isEmpty || shards.isEmpty { shards.append(current) }
        return shards
    }

    public static func shardName(_ k: Int, of n: Int) -> String {
        func five(_ v: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, 5 - s.count)) + s }
        return "model-\(five(k))-of-\(five(n)).safetensors"
    }

    /// Writes into `folder` (created if needed); returns the weight file names written.
    @discardableResult
    public static func write(folder: String, specs: [TensorSpec], metadata: [String: String] = [:],
                             maxShardBytes: Int, inputs: [String] = [],
                             produce: (TensorSpec) throws -> Tensor, written: (TensorSpec) -> Void = { _ in }) throws -> [String] {
        try write(folder: folder, specs: specs, metadata: metadata, maxShardBytes: maxShardBytes, inputs: inputs) { spec, sink in
            try sink.write(try produce(spec))
            written(spec)
        }
    }

    /// The streaming form (see `SafetensorsWriter.write(to:specs:metadata:inputs:stream:)`).
    @discardableResult
    public static func write(folder: String, specs: [TensorSpec], metadata: [String: String] = [:],
                             maxShardBytes: Int, inputs: [String] = [],
                             stream: (TensorSpec, TensorSink) throws -> Void) throws -> [String] {
        try SafetensorsWriter.validate(specs, path: folder)
        try makeFolder(folder)
        let shards = plan(specs, maxShardBytes: maxShardBytes)
        let names = shards.count == 1 ? ["model.safetensors"] : shards.indices.map { shardName($0 + 1, of: shards.count) }
        for name in Set(names + ["model.safetensors", ShardIndex.fileName]) { try SafetensorsWriter.refuseOverwrite(folder + "/" + name, inputs: inputs) }

        var partials: [String] = []
        do {
            for (name, shard) in zip(names, shards) {
                let partial = folder + "/." + name + ".partial-\(getpid())"
                try SafetensorsWriter.write(to: partial, specs: shard, metadata: metadata, inputs: inputs, stream: stream)
                partials.append(partial)
            }
        } catch {
            for partial in partials { unlink(partial) }
            throw error
        }
        for (partial, name) in zip(partials, names) {
            guard rename(partial, folder + "/" + name) == 0 else {
                throw CheckpointError.writeFailed(path: folder + "/" + name, reason: String(cString: strerror(errno)))
            }
        }
        if shards.count == 1 {
            unlink(folder + "/" + ShardIndex.fileName)       // a stale index would describe other shards
        } else {
            try writeAtomically(indexBytes(names: names, shards: shards), to: folder + "/" + ShardIndex.fileName)
            unlink(folder + "/model.safetensors")             // a stale single file would shadow the shards
        }
        SafetensorsWriter.syncDirectory(of: folder + "/" + names[0])
        return names
    }

    /// The index JSON, keys sorted, two-space indented like `transformers`' `save_pretrained`.
    public static func indexBytes(names: [String], shards: [[TensorSpec]]) -> [UInt8] {
        let total = shards.joined().reduce(0) { $0 + $1.byteCount }
        let entries = zip(names, shards).flatMap { name, shard in shard.map { ($0.name, name) } }.sorted { $0.0 < $1.0 }
        var text = "{\n  \"metadata\": {\n    \"total_size\": \(total)\n  },\n  \"weight_map\": {\n"
        text += entries.map { "    \(SafetensorsWriter.jsonString($0.0)): \(SafetensorsWriter.jsonString($0.1))" }.joined(separator: ",\n")
        text += "\n  }\n}\n"
        return Array(text.utf8)
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        let file = try OutputFile(temporary: temporary, destination: path)
        do {
            try bytes.withUnsafeBytes { try file.write($0) }
            try file.finish()
            guard rename(temporary, path) == 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        } catch {
            file.abandon(); unlink(temporary); throw error
        }
    }

    static func makeFolder(_ folder: String) throws {
        var st = stat()
        if stat(folder, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw CheckpointError.writeFailed(path: folder, reason: "exists and is not a folder") }
            return
        }
        guard mkdir(folder, 0o755) == 0 else { throw CheckpointError.writeFailed(path: folder, reason: String(cString: strerror(errno))) }
    }
}
