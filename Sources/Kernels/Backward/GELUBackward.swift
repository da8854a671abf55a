import Foundation

/// Backward of `geluErfForward`: `dinp += dout·(Φ(x) + x·φ(x))`. Accumulates; `inp` is the forward input.
public func geluErfBackward(_ dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
    parallelRanges(count, costPerItem: 8) { start, end in
        for i in start..<end {
            let x = inp[i]
            let cdf = 0.5 * (1 + erff(x * 0.70710678118654752))
            let pdf = expf(-0.5 * x * x) * 0.3989422804014327
            dinp[i] += dout[i] * (cdf + x * pdf)
        }
    }
}

/// Backward of `geluTanhForward` (llm.c `gelu_backward`). Accumulates.
public func geluTanhBackward(_ dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
    let k: Float = 0.7978845608028654
    parallelRanges(count, costPerItem: 8) { start, end in
        for i in start..<end {
            let x = inp[i]
            let t = tanhf(k * (x + 0.044715 * x * x * x))
            let d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
            dinp[i] += dout[i] * d
        }
    }
}
