import Foundation

/// RMSNorm (Llama `LlamaRMSNorm`): `out[N,C] = inp · rsqrt(mean(inp²) + eps) · weight`.
/// Saves `rstd[N]` when given (for `rmsNormBackward`).
public func rmsNormForward(_ out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>?,
                           _ inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           rows n: Int, channels c: Int, eps: Float) {
    parallelRanges(n, costPerItem: c) { start, end in
        for r in start..<end {
            let x = inp + r * c, o = out + r * c
            var ss: Float = 0
            for i in 0..<c { ss += x[i] * x[i] }
            let s = 1 / (ss / Float(c) + eps).squareRoot()
            for i in 0..<c { o[i] = weight[i] * (x[i] * s) }
            rstd?[r] = s
        }
    }
}

/// Naive twin of `rmsNormForward`.
public func rmsNormForwardNaive(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                                weight: UnsafePointer<Float>, rows n: Int, channels c: Int, eps: Float) {
    for r in 0..<n {
        var ss: Double = 0
        for i in 0..<c { ss += Double(inp[r * c + i]) * Double(inp[r * c + i]) }
        let s = 1 / (ss / Double(c) + Double(eps)).squareRoot()
        for i in 0..<c { out[r * c + i] = Float(Double(weight[i]) * Double(inp[r * c + i]) * s) }
    }
}
