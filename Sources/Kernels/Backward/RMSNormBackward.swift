/// Backward of `rmsNormForward`, using the saved `rstd` (s). With `y = w·x·s`, `s = (mean(x²)+eps)^-½`:
/// `dinp += s·(dout·w) − x·s³·mean(dout·w·x)`, `dweight += Σ dout·x·s`. Accumulates.
public func rmsNormBackward(dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?,
                            dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                            rstd: UnsafePointer<Float>, rows n: Int, channels c: Int) {
    if let dinp {
        parallelRanges(n, costPerItem: 3 * c) { start, end in
            for r in start..<end {
                let x = inp + r * c, g = dout + r * c, dx = dinp + r * c, s = rstd[r]
                var dot: Float = 0
                for i in 0..<c { dot += g[i] * weight[i] * x[i] }
                let k = s * s * s * dot / Float(c)
                for i in 0..<c { dx[i] += s * g[i] * weight[i] - x[i] * k }
            }
        }
    }
    if let dweight {
        parallelRanges(c, costPerItem: n) { start, end in
            for i in start..<end {
                var dw: Float = 0
                for r in 0..<n { dw += dout[r * c + i] * inp[r * c + i] * rstd[r] }
                dweight[i] += dw
            }
        }
    }
}
