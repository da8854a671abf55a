import CSIMD
import Foundation
import Kernels

/// Keys and values of the positions a decoder has already seen, per layer and sequence, so an
/// incremental forward (`TransformerModel.forward(appending:to:)`) computes only the new tokens.
///
/// Layer l keeps `keys[l]`, `values[l]` as `[B, capacity, NKV_l·HD]` (after rotary, as attention reads
/// them; `NKV_l` is the layer's own kv-head count, so physically pruned layers fit). Sequence b holds
/// `lengths[b]` positions; each sequence grows on its own, so prompts of different lengths batch
/// without padding the cache. The eager executor writes and reads it (`ForwardState.cache`); the
/// block itself is unchanged. A sliding window keeps every position and masks (no ring buffer).
public final class KVCache {
    /// Positions cached per sequence.
    public private(set) var lengths: [Int]
    /// Positions each sequence can hold before the buffers grow.
    public private(set) var capacity: Int
    /// `NKV_l·HD` per layer (0 for a layer without attention heads).
    let widths: [Int]
    /// One block holding every layer's keys, then values (`allocate`); `keys[l]`, `values[l]` point into it.
    private var storage: UnsafeMutablePointer<Float>
    private var keys: [UnsafeMutablePointer<Float>]
    private var values: [UnsafeMutablePointer<Float>]

    /// An empty cache for `batch` sequences of `model`, with room for `capacity` positions each. The
    /// model's weights move to huge pages (`backWeightsWithHugePages`): every decode step streams them.
    public init(model: TransformerModel, batch: Int, capacity: Int = 64) {
        model.backWeightsWithHugePages()
        widths = model.layers.map { $0.kvHeads * $0.headDim }
        lengths = [Int](repeating: 0, count: batch)
        self.capacity = max(capacity, 1)
        (storage, keys, values) = KVCache.allocate(widths: widths, batch: batch, capacity: self.capacity)
    }

    deinit { free(storage) }

    /// One block for all layers (layer l's keys `[B, capacity, w_l]`, its values, then layer l + 1's), on huge
    /// pages from 1 MB (`csimd_alloc_huge`): every decode step reads each layer's rows cold, and on 4 kB pages
    /// those reads waited on page walks (BENCHMARKS.md, "f32 decode step, session 11").
    private static func allocate(widths: [Int], batch: Int, capacity: Int)
        -> (UnsafeMutablePointer<Float>, [UnsafeMutablePointer<Float>], [UnsafeMutablePointer<Float>]) {
        let sizes = widths.map { batch * capacity * $0 }, total = 2 * sizes.reduce(0, +)
        guard let raw = csimd_alloc_huge(total * MemoryLayout<Float>.stride) else { fatalError("KVCache: out of memory for \(total) floats") }
        let base = raw.bindMemory(to: Float.self, capacity: total)
        var keys: [UnsafeMutablePointer<Float>] = [], values: [UnsafeMutablePointer<Float>] = [], offset = 0
        for n in sizes { keys.append(base + offset); values.append(base + offset + n); offset += 2 * n }
        return (base, keys, values)
    }

    public var batch: Int { lengths.count }

    /// Makes room for `needed` positions per sequence (doubling), keeping what is cached.
    func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        let grown = max(needed, 2 * capacity)
        let (newStorage, newKeys, newValues) = KVCache.allocate(widths: widths, batch: batch, capacity: grown)
        for (l, w) in widths.enumerated() {
            for b in 0..<batch {
                (newKeys[l] + b * grown * w).update(from: keys[l] + b * capacity * w, count: lengths[b] * w)
                (newValues[l] + b * grown * w).update(from: values[l] + b * capacity * w, count: lengths[b] * w)
            }
        }
        free(storage)
        (storage, keys, values, capacity) = (newStorage, newKeys, newValues, grown)
    }

    /// Writes the new rows `k`, `v` `[B·T, NKV·HD]` of `layer` at positions `lengths[b] + i`
    /// (the real rows only: `count[b]` of each sequence's T).
    func store(layer l: Int, k: [Float], v: [Float], _ g: CacheGeometry) {
        let w = widths[l], t = g.newTokens
        precondition(k.count == batch * t * w && v.count == k.count, "KVCache.store: layer \(l) rows do not match [\(batch)·\(t), \(w)]")
        for b in 0..<batch {
            let dst = (b * capacity + g.past[b]) * w, src = b * t * w, n = g.count[b] * w
            k.withUnsafeBufferPointer { (keys[l] + dst).update(from: $0.baseAddress! + src, count: n) }
            v.withUnsafeBufferPointer { (values[l] + dst).update(from: $0.baseAddress! + src, count: n) }
        }
    }

    /// Reads layer `l`'s buffers.
    func withLayer<R>(_ l: Int, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> R) -> R {
        body(keys[l], values[l])
    }

    /// Counts the new tokens once every layer has stored them.
    func commit(_ count: [Int]) {
        for b in lengths.indices { lengths[b] += count[b] }
    }

    /// Keeps only the given sequences (increasing indices), e.g. those still generating.
    public func retain(_ sequences: [Int]) {
        precondition(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 } && sequences.allSatisfy { $0 >= 0 && $0 < batch },
                     "KVCache.retain: \(sequences) is not an increasing list of sequences in 0..<\(batch)")
        for l in widths.indices {
            let w = widths[l] * capacity
            for (to, from) in sequences.enumerated() where to != from {
                (keys[l] + to * w).update(from: keys[l] + from * w, count: lengths[from] * widths[l])
                (values[l] + to * w).update(from: values[l] + from * w, count: lengths[from] * widths[l])
            }
        }
        lengths = sequences.map { lengths[$0] }
    }
}
