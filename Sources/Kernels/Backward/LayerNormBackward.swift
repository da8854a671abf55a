/// Backward of `layerNormForward` (llm.c `layernorm_backward`), using the `mean` and `rstd` the
/// forward saved. With `x̂ = (x − mean)·rstd`, `g = dout·weight`:
/// `dinp += rstd·(g − mean(g) − x̂·mean(g·x̂))`, `dweight += Σ dout·x̂`, `dbias += Σ dout`. Accumulates.
public func layerNormBackward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
                              dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                              inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                              mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows n: Int, channels c: Int) {
    if let dinp {
        parallelRanges(n, costPerItem: 4 * c) { start, end in
            for r in start..<end {
                let x = inp + r * c, g = dout + r * c, dx = dinp + r * c
                let m = mean[r], s = rstd[r]
                var gMean: Float = 0, gxMean: Float = 0
                for i in 0..<c {
                    let gi = g[i] * weight[i]
                    gMean += gi; gxMean += gi * (x[i] - m) * s
                }
                gMean /= Float(c); gxMean /= Float(c)
                for i in 0..<c { dx[i] += s * (g[i] * weight[i] - gMean - (x[i] - m) * s * gxMean) }
            }
        }
    }
    if dweight != nil || dbias != nil {
        parallelRanges(c, costPerItem: 2 * n) { start, end in
            for i in start..<end {
                var dw: Float = 0, db: Float = 0
                for r in 0..<n {
                    let g = dout[r * c + i]
                    dw += g * (inp[r * c + i] - mean[r]) * rstd[r]; db += g
                }
                dweight?[i] += dw; dbias?[i] += db
            }
        }
    }
}
