import CSIMD
import Foundation

/// Where the new queries of each sequence sit against a key/value cache (incremental decoding).
///
/// Sequence b has `past[b]` cached positions and `count[b]` new tokens (1 ≤ count ≤ T, the batch is
/// right-padded to T). New token i is at position `past[b] + i`; its key and value are already in the
/// cache there. A padding row (i ≥ count[b]) repeats the last real row's view, so it never reads a
/// cache slot that holds no key.
public struct CacheGeometry {
    public var past: [Int]
    public var count: [Int]
    /// New tokens per sequence (the padded T).
    public var newTokens: Int
    /// Positions the cache holds per sequence (its row stride).
    public var capacity: Int
    public var window: Int?

    public init(past: [Int], count: [Int], newTokens: Int, capacity: Int, window: Int?) {
        self.past = past; self.count = count; self.newTokens = newTokens; self.capacity = capacity; self.window = window
    }

    /// Keys `[first, end)` visible from new row i of sequence b: causal, and within the sliding window.
    @inline(__always) public func keys(b: Int, i: Int) -> Range<Int> {
        let p = past[b] + min(i, count[b] - 1)
        return (window.map { max(0, p - $0 + 1) } ?? 0)..<(p + 1)
    }
}

/// Attention of new queries against a key/value cache (inference only; no backward).
///
/// Shapes: `q[B·T, NH·HD]` (T = `g.newTokens`), `kCache`, `vCache` `[B, capacity, NKV·HD]`,
/// `out[B·T, NH·HD]`. Query head h reads kv head `h / (NH/NKV)`; row i of sequence b sees the keys
/// `g.keys(b:i:)`. Softmax (or the clipped variant) over those keys, then `headMask[h]` scales head h's
/// probabilities, as `attentionForward` does on the whole sequence.
public func cachedAttentionForward(_ out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>,
                                   kCache: UnsafePointer<Float>, vCache: UnsafePointer<Float>, _ g: CacheGeometry,
                                   headMask: UnsafePointer<Float>?, variant: AttentionVariant,
                                   heads nh: Int, kvHeads nkv: Int, headDim hd: Int, scale: Float) {
    precondition(nkv > 0 && nh % nkv == 0, "cachedAttentionForward: \(nh) query heads not a multiple of \(nkv) kv heads")
    if g.newTokens == 1 && decodeAttentionKernel
        && cachedAttentionOneRow(out, q: q, kCache: kCache, vCache: vCache, g, headMask: headMask, variant: variant, heads: nh, kvHeads: nkv, headDim: hd, scale: scale) {
        return
    }
    let group = nh / nkv, qStride = nh * hd, kvStride = nkv * hd, t = g.newTokens
    let b = g.past.count
    // Work items: (sequence, query head); each keeps its own [T, keys] scratch. A decode step of a
    // short context is a few hundred thousand MACs: split it over threads only when it is larger.
    let maxKeys = (0..<b).map { g.keys(b: $0, i: t - 1).upperBound }.max() ?? 0
    parallelRanges(b * nh, costPerItem: t * maxKeys * hd / 16) { start, end in
        let p = UnsafeMutablePointer<Float>.allocate(capacity: t * maxKeys)
        defer { p.deallocate() }
        for item in start..<end {
            let bi = item / nh, h = item % nh
            let first = g.keys(b: bi, i: 0).lowerBound, last = g.keys(b: bi, i: t - 1).upperBound, n = last - first
            let qb = q + bi * t * qStride + h * hd
            let kvOff = (bi * g.capacity + first) * kvStride + (h / group) * hd
            sgemm(transA: false, transB: true, m: t, n: n, k: hd, alpha: scale, qb, lda: qStride, kCache + kvOff, ldb: kvStride, p, ldc: n)
            for i in 0..<t {
                let row = p + i * n, r = g.keys(b: bi, i: i)
                for j in 0..<(r.lowerBound - first) { row[j] = -.infinity }
                let visible = r.upperBound - first
                softmaxRow(row, row, visible)
                for j in visible..<n { row[j] = 0 }
            }
            if case let .clippedSoftmax(gamma, zeta) = variant { clipSoftmaxForward(p, count: t * n, gamma: gamma, zeta: zeta) }
            if let headMask, headMask[h] != 1 {
                for i in 0..<(t * n) { p[i] *= headMask[h] }
            }
            sgemm(transA: false, transB: false, m: t, n: hd, k: n, p, lda: n, vCache + kvOff, ldb: kvStride,
                  out + bi * t * qStride + h * hd, ldc: qStride)
        }
    }
}

/// A decode step, one new row per sequence: every head of a sequence in one pass over its cached rows in
/// memory order (CSIMD attention_one.c), the softmax per head between. The rows are cold at every step,
/// and per head (sgemm over a strided head) their loads stalled. false, with nothing written, without AVX-512.
func cachedAttentionOneRow(_ out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>,
                           kCache: UnsafePointer<Float>, vCache: UnsafePointer<Float>, _ g: CacheGeometry,
                           headMask: UnsafePointer<Float>?, variant: AttentionVariant,
                           heads nh: Int, kvHeads nkv: Int, headDim hd: Int, scale: Float) -> Bool {
    let kvStride = nkv * hd, maxKeys = (0..<g.past.count).map { g.keys(b: $0, i: 0).count }.max() ?? 0
    let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, nh * maxKeys))
    defer { p.deallocate() }
    for bi in 0..<g.past.count {
        let keys = g.keys(b: bi, i: 0), n = keys.count, kv = (bi * g.capacity + keys.lowerBound) * kvStride
        guard csimd_attention_scores_one(p, q + bi * nh * hd, kCache + kv, n, nh, nkv, hd, scale) != 0 else { return false }
        for h in 0..<nh {
            let row = p + h * n
            softmaxRow(row, row, n)
            if case let .clippedSoftmax(gamma, zeta) = variant { clipSoftmaxForward(row, count: n, gamma: gamma, zeta: zeta) }
            if let headMask, headMask[h] != 1 { for j in 0..<n { row[j] *= headMask[h] } }
        }
        _ = csimd_attention_mix_one(out + bi * nh * hd, p, vCache + kv, n, nh, nkv, hd)
    }
    return true
}

/// One-row steps take `cachedAttentionOneRow`; `WHITTLE_DECODE_ATTENTION=blas` keeps OpenBLAS sgemm per head
/// for them (A/B runs; the tests set it to compare both).
public var decodeAttentionKernel = ProcessInfo.processInfo.environment["WHITTLE_DECODE_ATTENTION"] != "blas"

/// Naive twin of `cachedAttentionForward` (Double accumulation, no BLAS).
public func cachedAttentionForwardNaive(_ out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>,
                                        kCache: UnsafePointer<Float>, vCache: UnsafePointer<Float>, _ g: CacheGeometry,
                                        headMask: UnsafePointer<Float>?, variant: AttentionVariant,
                                        heads nh: Int, kvHeads nkv: Int, headDim hd: Int, scale: Float) {
    let group = nh / nkv, t = g.newTokens
    for bi in 0..<g.past.count {
        for h in 0..<nh {
            let kh = h / group
            func kv(_ j: Int, _ d: Int) -> Int { (bi * g.capacity + j) * nkv * hd + kh * hd + d }
            for i in 0..<t {
                let r = g.keys(b: bi, i: i)
                let scores: [Double] = r.map { j in
                    var s: Double = 0
                    for d in 0..<hd { s += Double(q[(bi * t + i) * nh * hd + h * hd + d]) * Double(kCache[kv(j, d)]) }
                    return s * Double(scale)
                }
                let m = scores.max()!
                var p = scores.map { exp($0 - m) }
                let sum = p.reduce(0, +)
                p = p.map { $0 / sum }
                if case let .clippedSoftmax(gamma, zeta) = variant {
                    p = p.map { min(max(Double(zeta - gamma) * $0 + Double(gamma), 0), 1) }
                }
                let hm = Double(headMask?[h] ?? 1)
                for d in 0..<hd {
                    var s: Double = 0
                    for (pj, j) in zip(p, r) { s += pj * hm * Double(vCache[kv(j, d)]) }
                    out[(bi * t + i) * nh * hd + h * hd + d] = Float(s)
                }
            }
        }
    }
}
