/// Backward of `matmulForward` (llm.c `matmul_backward`): with `out = inp·Wᵀ + b`,
/// `dinp[N,C] += dout·W`, `dweight[OC,C] += doutᵀ·inp`, `dbias[OC] += Σ_rows dout`.
/// Every gradient accumulates (callers zero once per step); any of them may be nil (not needed).
public func matmulBackward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
                           dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                           inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           rows n: Int, inFeatures c: Int, outFeatures oc: Int) {
    if let dinp {
        sgemm(transA: false, transB: false, m: n, n: c, k: oc, dout, lda: oc, weight, ldb: c, beta: 1, dinp, ldc: c)
    }
    if let dweight {
        sgemm(transA: true, transB: false, m: oc, n: c, k: n, dout, lda: oc, inp, ldb: c, beta: 1, dweight, ldc: c)
    }
    if let dbias {
        parallelRanges(oc, costPerItem: n) { start, end in
            for o in start..<end {
                var s: Float = 0
                for r in 0..<n { s += dout[r * oc + o] }
                dbias[o] += s
            }
        }
    }
}
