/// Backwards of the attention steps (`AttentionSteps.swift`). All accumulate; any gradient may be nil.

/// `dq += scale·dS·k`, `dk += scale·dSᵀ·q` per head (GQA: a kv head sums over its query group).
/// Masked entries must carry zero `dscores` (the normalise backward gives that).
public func attentionScoresBackward(dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?, dscores: UnsafePointer<Float>,
                                    q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                    batch b: Int, seqLen t: Int, heads nh: Int, kvHeads nkv: Int, headDim hd: Int, scale: Float) {
    let group = nh / nkv, qStride = nh * hd, kvStride = nkv * hd
    for bi in 0..<b {
        for h in 0..<nh {
            let ds = dscores + (bi * nh + h) * t * t
            let kOff = bi * t * kvStride + (h / group) * hd, qOff = bi * t * qStride + h * hd
            if let dq {
                sgemm(transA: false, transB: false, m: t, n: hd, k: t, alpha: scale, ds, lda: t, k + kOff, ldb: kvStride, beta: 1,
                      dq + qOff, ldc: qStride)
            }
            if let dk {
                sgemm(transA: true, transB: false, m: t, n: hd, k: t, alpha: scale, ds, lda: t, q + qOff, ldb: qStride, beta: 1,
                      dk + kOff, ldc: kvStride)
            }
        }
    }
}

/// Backward of `attentionNormaliseForward`: `dscores += softmax'ᵀ·(clip'·dprobs)`. `softmaxOut` is
/// the plain softmax (for the standard variant, the probabilities themselves).
public func attentionNormaliseBackward(_ dscores: UnsafeMutablePointer<Float>, dprobs: UnsafePointer<Float>,
                                       softmaxOut: UnsafePointer<Float>, variant: AttentionVariant, rows: Int, seqLen t: Int) {
    guard case let .clippedSoftmax(gamma, zeta) = variant else {
        softmaxBackward(dscores, dout: dprobs, out: softmaxOut, rows: rows, cols: t)
        return
    }
    let dp = UnsafeMutablePointer<Float>.allocate(capacity: rows * t)
    defer { dp.deallocate() }
    clipSoftmaxBackward(dp, dout: dprobs, probs: softmaxOut, count: rows * t, gamma: gamma, zeta: zeta)
    softmaxBackward(dscores, dout: dp, out: softmaxOut, rows: rows, cols: t)
}

/// Backward of `scaleHeadsForward` given its input `x`: `dx += scale[h]·dout`, `dscale[h] += Σ dout·x`.
public func scaleHeadsBackward(dx: UnsafeMutablePointer<Float>?, dscale: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                               x: UnsafePointer<Float>, scale: UnsafePointer<Float>, outer: Int, heads: Int, inner: Int) {
    for r in 0..<(outer * heads) {
        let h = r % heads, base = r * inner
        if let dx { let s = scale[h]; for i in 0..<inner { dx[base + i] += s * dout[base + i] } }
        if let dscale { var acc: Float = 0; for i in 0..<inner { acc += dout[base + i] * x[base + i] }; dscale[h] += acc }
    }
}

/// Backward of `attentionMixForward`: `dprobs += dout·vᵀ`, `dv += Pᵀ·dout` per head.
public func attentionMixBackward(dprobs: UnsafeMutablePointer<Float>?, dv: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                 probs: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                 batch b: Int, seqLen t: Int, heads nh: Int, kvHeads nkv: Int, headDim hd: Int) {
    let group = nh / nkv, qStride = nh * hd, kvStride = nkv * hd
    for bi in 0..<b {
        for h in 0..<nh {
            let d = dout + bi * t * qStride + h * hd, vOff = bi * t * kvStride + (h / group) * hd
            let p = (bi * nh + h) * t * t
            if let dprobs {
                sgemm(transA: false, transB: true, m: t, n: t, k: hd, d, lda: qStride, v + vOff, ldb: kvStride, beta: 1, dprobs + p, ldc: t)
            }
            if let dv {
                sgemm(transA: true, transB: false, m: t, n: hd, k: t, probs + p, lda: t, d, ldb: qStride, beta: 1, dv + vOff, ldc: kvStride)
            }
        }
    }
}
