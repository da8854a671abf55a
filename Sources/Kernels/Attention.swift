import Foundation

/// How attention probabilities are formed.
public enum AttentionVariant: Equatable, Sendable {
    case standard
    /// Clipped softmax `clip((ζ−γ)·softmax + γ, 0, 1)` (ALGORITHMS.md §3.1).
    case clippedSoftmax(gamma: Float, zeta: Float)

    /// Clipped softmax by α (ALGORITHMS.md §3.1, reference `--alpha`): γ = −α / T_max, ζ = 1, with
    /// T_max the training sequence length (OPT: `block_size`; α = 12, T = 512 → γ = −0.0234375).
    public static func clippedSoftmax(alpha: Float, maxSeqLength: Int) -> AttentionVariant {
        .clippedSoftmax(gamma: -alpha / Float(maxSeqLength), zeta: 1)
    }
}

/// Masks shared by the attention kernels.
public struct AttentionMask {
    /// Queries only see keys at or before their own position.
    public var causal: Bool
    /// `[B,T]`: 1 for real tokens, 0 for padding keys (masked out). nil: every key is real.
    public var keyPadding: UnsafePointer<Float>?
    /// Sliding window (Mistral `sliding_window`, transformers' `sliding_window_overlay`): query i sees
    /// only keys j > i − window, so `window` keys including its own. nil: unlimited.
    public var window: Int?
    public init(causal: Bool, keyPadding: UnsafePointer<Float>? = nil, window: Int? = nil) {
        self.causal = causal
        self.keyPadding = keyPadding
        self.window = window
    }
    @inline(__always) func allowed(b: Int, t: Int, i: Int, j: Int) -> Bool {
        if causal && j > i { return false }
        if let window, j <= i - window { return false }
        if let keyPadding, keyPadding[b * t + j] == 0 { return false }
        return true
    }
    /// The first key query i can see (0 without a window).
    @inline(__always) func firstKey(_ i: Int) -> Int { window.map { max(0, i - $0 + 1) } ?? 0 }
}

/// Query rows per block in causal attention (blocks skip the keys they cannot see).
public let attentionQueryBlock = 128

/// Multi-head scaled dot-product attention with grouped-query heads.
///
/// Shapes: `q[N, NH·HD]`, `k`, `v` `[N, NKV·HD]` with N = B·T (token-major, heads packed per row);
/// `out[N, NH·HD]`. Query head h reads key/value head `h / (NH/NKV)`. Scores are `scale·q·kᵀ`; masked
/// entries (causal, sliding window, padding) are excluded; a row with no visible key gets zero
/// probabilities (and zero output).
/// `headMask[NH]` multiplies each head's probabilities (transformers `head_mask`).
/// `probs[B, NH, T, T]`, when given, receives the final probabilities (what backward needs);
/// otherwise a `[T,T]` scratch is used.
/// `headsOnCores`: the (sequence, head) pairs are taken by the pool's seats (`splitWork`), each head on one
/// core with its own scratch, where the caller has put OpenBLAS on one thread (a prefill's attention between
/// the pool's linears: `EagerExecutor.attention`); every head runs the same calls either way, so the result
/// does not depend on it.
public func attentionForward(_ out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>?,
                             q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                             mask: AttentionMask, headMask: UnsafePointer<Float>?, variant: AttentionVariant,
                             batch b: Int, seqLen t: Int, heads nh: Int, kvHeads nkv: Int, headDim hd: Int, scale: Float,
                             headsOnCores: Bool = false) {
    precondition(nkv > 0 && nh % nkv == 0, "attentionForward: \(nh) query heads not a multiple of \(nkv) kv heads")
    func head(_ item: Int, _ p: UnsafeMutablePointer<Float>, rowsInParallel: Bool) {
        attentionHeadForward(out, p: p, q: q, k: k, v: v, mask: mask, headMask: headMask, variant: variant, batch: item / nh, head: item % nh,
                             seqLen: t, heads: nh, kvHeads: nkv, headDim: hd, scale: scale, rowsInParallel: rowsInParallel)
    }
    let workers = min(Threads.count, kernelThreads, b * nh)
    if headsOnCores, probs == nil, workers > 1 {
        splitWork(b * nh, workers: workers, chunk: 1, work: b * nh * t * t * hd) { next in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: t * t)   // one per seat
            defer { scratch.deallocate() }
            while let (i0, i1) = next() { for item in i0..<i1 { head(item, scratch, rowsInParallel: false) } }
        }
        return
    }
    let scratch: UnsafeMutablePointer<Float>? = probs == nil ? .allocate(capacity: t * t) : nil
    defer { scratch?.deallocate() }
    for item in 0..<(b * nh) { head(item, probs.map { $0 + item * t * t } ?? scratch!, rowsInParallel: true) }
}

/// One (sequence `bi`, query head `h`) of `attentionForward`, its probabilities in `p[T, T]`: scores by
/// sgemm, masked softmax rows (over the cores by `parallelRanges` when `rowsInParallel`), clipping and the
/// head mask, then the mix by sgemm into the head's columns of `out`.
func attentionHeadForward(_ out: UnsafeMutablePointer<Float>, p: UnsafeMutablePointer<Float>,
                          q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                          mask: AttentionMask, headMask: UnsafePointer<Float>?, variant: AttentionVariant,
                          batch bi: Int, head h: Int, seqLen t: Int, heads nh: Int, kvHeads nkv: Int, headDim hd: Int, scale: Float,
                          rowsInParallel: Bool) {
    let group = nh / nkv
    let qStride = nh * hd, kvStride = nkv * hd
    let qb = q + bi * t * qStride + h * hd
    let kb = k + bi * t * kvStride + (h / group) * hd
    let vb = v + bi * t * kvStride + (h / group) * hd
    // Causal: query blocks only multiply against the keys they can see (about half the work).
    let causal = mask.causal, pad = mask.keyPadding.map { $0 + bi * t }
    let block = causal ? attentionQueryBlock : t
    for i0 in stride(from: 0, to: t, by: block) {
        let i1 = min(t, i0 + block), rows = i1 - i0, keys = causal ? i1 : t
        let pb = p + i0 * t
        sgemm(transA: false, transB: true, m: rows, n: keys, k: hd, alpha: scale, qb + i0 * qStride, lda: qStride,
              kb, ldb: kvStride, pb, ldc: t)
        func softmaxRows(_ start: Int, _ end: Int) {
            for r in start..<end {
                let row = pb + r * t
                let visible = causal ? i0 + r + 1 : t
                for j in 0..<mask.firstKey(i0 + r) { row[j] = -.infinity }
                if let pad { for j in 0..<visible where pad[j] == 0 { row[j] = -.infinity } }
                softmaxRow(row, row, visible)
                for j in visible..<t { row[j] = 0 }
            }
        }
        if rowsInParallel { parallelRanges(rows, costPerItem: keys, softmaxRows) } else { softmaxRows(0, rows) }
        if case let .clippedSoftmax(gamma, zeta) = variant { clipSoftmaxForward(pb, count: rows * t, gamma: gamma, zeta: zeta) }
        if let headMask, headMask[h] != 1 {
            let s = headMask[h]
            for i in 0..<(rows * t) { pb[i] *= s }
        }
        sgemm(transA: false, transB: false, m: rows, n: hd, k: keys, pb, lda: t, vb, ldb: kvStride,
              out + (bi * t + i0) * qStride + h * hd, ldc: qStride)
    }
}

/// Naive twin of `attentionForward` (Double accumulation, no BLAS).
public func attentionForwardNaive(_ out: UnsafeMutablePointer<Float>,
                                  q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                  mask: AttentionMask, headMask: UnsafePointer<Float>?, variant: AttentionVariant,
                                  batch b: Int, seqLen t: Int, heads nh: Int, kvHeads nkv: Int, headDim hd: Int, scale: Float) {
    let group = nh / nkv
    for bi in 0..<b {
        for h in 0..<nh {
            let kh = h / group
            for i in 0..<t {
                var scores = [Double](repeating: -.infinity, count: t)
                for j in 0..<t where mask.allowed(b: bi, t: t, i: i, j: j) {
                    var s: Double = 0
                    for d in 0..<hd { s += Double(q[(bi * t + i) * nh * hd + h * hd + d]) * Double(k[(bi * t + j) * nkv * hd + kh * hd + d]) }
                    scores[j] = s * Double(scale)
                }
                let m = scores.max()!
                var p = scores.map { m == -.infinity ? 0 : exp($0 - m) }
                let sum = p.reduce(0, +)
                if sum > 0 { p = p.map { $0 / sum } }
                if case let .clippedSoftmax(gamma, zeta) = variant {
                    p = p.map { min(max(Double(zeta - gamma) * $0 + Double(gamma), 0), 1) }
                }
                let hm = Double(headMask?[h] ?? 1)
                for d in 0..<hd {
                    var s: Double = 0
                    for j in 0..<t { s += p[j] * hm * Double(v[(bi * t + j) * nkv * hd + kh * hd + d]) }
                    out[(bi * t + i) * nh * hd + h * hd + d] = Float(s)
                }
            }
        }
    }
}
