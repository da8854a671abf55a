import Foundation

/// Attention as separate steps, for when a hook reads or changes the scores or probabilities
/// (docs/ARCHITECTURE.md "Attention"): `scores → normalise → scale heads → mix`. Composed, they
/// equal the fused `attentionForward`. Shapes as there: `q[N, NH·HD]`, `k`, `v` `[N, NKV·HD]`
/// (N = B·T), scores and probabilities `[B, NH, T, T]`.

/// `scores[b, h, i, j] = scale·q_i·k_j` where key j is visible from query i, else `-∞`.
public func attentionScoresForward(_ scores: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                   mask: AttentionMask, batch b: Int, seqLen t: Int, heads nh: Int, kvHeads nkv: Int,
                                   headDim hd: Int, scale: Float) {
    precondition(nkv > 0 && nh % nkv == 0, "attentionScoresForward: \(nh) query heads not a multiple of \(nkv) kv heads")
    let group = nh / nkv, qStride = nh * hd, kvStride = nkv * hd
    for bi in 0..<b {
        for h in 0..<nh {
            let s = scores + (bi * nh + h) * t * t
            sgemm(transA: false, transB: true, m: t, n: t, k: hd, alpha: scale, q + bi * t * qStride + h * hd, lda: qStride,
                  k + bi * t * kvStride + (h / group) * hd, ldb: kvStride, s, ldc: t)
            for i in 0..<t { for j in 0..<t where !mask.allowed(b: bi, t: t, i: i, j: j) { s[i * t + j] = -.infinity } }
        }
    }
}

/// Probabilities from scores, row by row: softmax (a row with no visible key is all zeros), then
/// the clipped variant's `clip((ζ−γ)·p + γ, 0, 1)` (ALGORITHMS.md §3.1). `probs` may alias `scores`.
/// `softmaxOut`, when given, keeps the plain softmax (what the clipped backward needs).
public func attentionNormaliseForward(_ probs: UnsafeMutablePointer<Float>, softmaxOut: UnsafeMutablePointer<Float>?,
                                      scores: UnsafePointer<Float>, variant: AttentionVariant, rows: Int, seqLen t: Int) {
    softmaxForward(probs, scores, rows: rows, cols: t)
    guard case let .clippedSoftmax(gamma, zeta) = variant else { return }
    softmaxOut?.update(from: probs, count: rows * t)
    clipSoftmaxForward(probs, count: rows * t, gamma: gamma, zeta: zeta)
}

/// `x[o, h, i] *= scale[h]` over `x[outer, heads, inner]` (a head mask or gate on probabilities
/// `[B, NH, T·T]`, or on a per-head context `[N, NH, HD]`).
public func scaleHeadsForward(_ x: UnsafeMutablePointer<Float>, _ scale: UnsafePointer<Float>, outer: Int, heads: Int, inner: Int) {
    parallelRanges(outer * heads, costPerItem: inner) { start, end in
        for r in start..<end {
            let s = scale[r % heads]
            if s == 1 { continue }
            let p = x + r * inner
            for i in 0..<inner { p[i] *= s }
        }
    }
}

/// `out[N, NH·HD]`: each query row's probability-weighted sum of value rows (`P·V` per head).
public func attentionMixForward(_ out: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                batch b: Int, seqLen t: Int, heads nh: Int, kvHeads nkv: Int, headDim hd: Int) {
    let group = nh / nkv, qStride = nh * hd, kvStride = nkv * hd
    for bi in 0..<b {
        for h in 0..<nh {
            sgemm(transA: false, transB: false, m: t, n: hd, k: t, probs + (bi * nh + h) * t * t, lda: t,
                  v + bi * t * kvStride + (h / group) * hd, ldb: kvStride, out + bi * t * qStride + h * hd, ldc: qStride)
        }
    }
}
