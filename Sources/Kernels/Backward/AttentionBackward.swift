/// Backward of `attentionForward`. Probabilities are recomputed from `q` and `k` per (batch, head)
/// (one extra `T×T` GEMM, so the forward need not keep `[B,NH,T,T]`). Per head, with
/// `S = scale·q·kᵀ` (masked), `P = softmax(S)`, `C = clip(P)` (clipped variant) or `P`, `A = m_h·C`,
/// `out = A·v`:
/// `dv += Aᵀ·dout`, `dA = dout·vᵀ`, `dheadMask[h] += Σ dA·C`, `dP = clip'(m_h·dA)`,
/// `dS = P·(dP − Σ P·dP)`, `dq += scale·dS·k`, `dk += scale·dSᵀ·q` (GQA: kv heads sum over their group).
/// All gradients accumulate; `dq`, `dk`, `dv`, `dheadMask` may be nil.
public func attentionBackward(dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?, dv: UnsafeMutablePointer<Float>?,
                              dheadMask: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                              q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                              mask: AttentionMask, headMask: UnsafePointer<Float>?, variant: AttentionVariant,
                              batch b: Int, seqLen t: Int, heads nh: Int, kvHeads nkv: Int, headDim hd: Int, scale: Float) {
    precondition(nkv > 0 && nh % nkv == 0, "attentionBackward: \(nh) query heads not a multiple of \(nkv) kv heads")
    let group = nh / nkv
    let qStride = nh * hd, kvStride = nkv * hd
    let p = UnsafeMutablePointer<Float>.allocate(capacity: t * t)      // P
    let a = UnsafeMutablePointer<Float>.allocate(capacity: t * t)      // A (what multiplied v)
    let da = UnsafeMutablePointer<Float>.allocate(capacity: t * t)     // dA, then dP, then dS
    defer { p.deallocate(); a.deallocate(); da.deallocate() }
    for bi in 0..<b {
        for h in 0..<nh {
            let qb = q + bi * t * qStride + h * hd
            let kOff = bi * t * kvStride + (h / group) * hd
            let kb = k + kOff, vb = v + kOff
            let doutb = dout + bi * t * qStride + h * hd
            sgemm(transA: false, transB: true, m: t, n: t, k: hd, alpha: scale, qb, lda: qStride, kb, ldb: kvStride, p, ldc: t)
            let m = mask
            parallelRanges(t, costPerItem: t) { start, end in
                for i in start..<end {
                    let row = p + i * t
                    for j in 0..<t where !m.allowed(b: bi, t: t, i: i, j: j) { row[j] = -.infinity }
                    softmaxRow(row, row, t)
                }
            }
            let hm = headMask?[h] ?? 1
            let clip: (gamma: Float, zeta: Float)? = {
                if case let .clippedSoftmax(gamma, zeta) = variant { return (gamma, zeta) }
                return nil
            }()
            // a = C = clip(P) or P; A = hm·C
            if let clip {
                a.update(from: p, count: t * t)
                clipSoftmaxForward(a, count: t * t, gamma: clip.gamma, zeta: clip.zeta)
            } else {
                a.update(from: p, count: t * t)
            }
            if dheadMask != nil || dq != nil || dk != nil {
                sgemm(transA: false, transB: true, m: t, n: t, k: hd, doutb, lda: qStride, vb, ldb: kvStride, da, ldc: t)
            }
            if let dheadMask {
                var s: Float = 0
                for i in 0..<(t * t) { s += da[i] * a[i] }
                dheadMask[h] += s
            }
            if let dv {
                if hm != 1 { for i in 0..<(t * t) { a[i] *= hm } }
                sgemm(transA: true, transB: false, m: t, n: hd, k: t, a, lda: t, doutb, ldb: qStride, beta: 1,
                      dv + kOff, ldc: kvStride)
            }
            guard dq != nil || dk != nil else { continue }
            if hm != 1 { for i in 0..<(t * t) { da[i] *= hm } }
            if let clip { clipSoftmaxBackward(da, dout: da, probs: p, count: t * t, gamma: clip.gamma, zeta: clip.zeta) }
            parallelRanges(t, costPerItem: 2 * t) { start, end in
                for i in start..<end {
                    let pr = p + i * t, dr = da + i * t
                    var dot: Float = 0
                    for j in 0..<t { dot += pr[j] * dr[j] }
                    for j in 0..<t { dr[j] = pr[j] * (dr[j] - dot) }
                }
            }
            if let dq {
                sgemm(transA: false, transB: false, m: t, n: hd, k: t, alpha: scale, da, lda: t, kb, ldb: kvStride, beta: 1,
                      dq + bi * t * qStride + h * hd, ldc: qStride)
            }
            if let dk {
                sgemm(transA: true, transB: false, m: t, n: hd, k: t, alpha: scale, da, lda: t, qb, ldb: qStride, beta: 1,
                      dk + kOff, ldc: kvStride)
            }
        }
    }
}
