import Foundation

/// LayerNorm (PyTorch `nn.LayerNorm`): `out[N,C] = (inp − mean) · rstd · weight + bias`, with
/// biased variance. Saves `mean[N]` and `rstd[N]` when given (what `layerNormBackward` needs).
public func layerNormForward(_ out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?,
                             rstd: UnsafeMutablePointer<Float>?, _ inp: UnsafePointer<Float>,
                             weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                             rows n: Int, channels c: Int, eps: Float) {
    parallelRanges(n, costPerItem: c) { start, end in
        for r in start..<end {
            let x = inp + r * c, o = out + r * c
            var m: Float = 0
            for i in 0..<c { m += x[i] }
            m /= Float(c)
            var v: Float = 0
            for i in 0..<c { let d = x[i] - m; v += d * d }
            v /= Float(c)
            let s = 1 / (v + eps).squareRoot()
            if let bias {
                for i in 0..<c { o[i] = (x[i] - m) * s * weight[i] + bias[i] }
            } else {
                for i in 0..<c { o[i] = (x[i] - m) * s * weight[i] }
            }
            mean?[r] = m
            rstd?[r] = s
        }
    }
}

/// Naive twin of `layerNormForward` (Double accumulation).
public func layerNormForwardNaive(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                                  weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                  rows n: Int, channels c: Int, eps: Float) {
    for r in 0..<n {
        let x = (0..<c).map { Double(inp[r * c + $0]) }
        let m = x.reduce(0, +) / Double(c)
        let v = x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(c)
        let s = 1 / (v + Double(eps)).squareRoot()
        for i in 0..<c { out[r * c + i] = Float((x[i] - m) * s * Double(weight[i]) + Double(bias?[i] ?? 0)) }
    }
}
