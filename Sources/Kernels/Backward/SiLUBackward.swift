import Foundation

/// Backward of `siluForward`: `dinp += dout·σ(x)(1 + x(1 − σ(x)))`. Accumulates.
public func siluBackward(_ dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
    parallelRanges(count, costPerItem: 8) { start, end in
        for i in start..<end {
            let x = inp[i], s = 1 / (1 + expf(-x))
            dinp[i] += dout[i] * s * (1 + x * (1 - s))
        }
    }
}

/// Backward of `swigluForward` (`out = silu(gate)·up`): `dgate += dout·up·silu'(gate)`, `dup += dout·silu(gate)`.
public func swigluBackward(dgate: UnsafeMutablePointer<Float>?, dup: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                           gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    parallelRanges(count, costPerItem: 8) { start, end in
        for i in start..<end {
            let g = gate[i], s = 1 / (1 + expf(-g))
            dgate?[i] += dout[i] * up[i] * s * (1 + g * (1 - s))
            dup?[i] += dout[i] * g * s
        }
    }
}

/// Backward of `reluForward`: `dinp += dout` where `x > 0`. Accumulates.
public func reluBackward(_ dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, count: Int) {
    parallelRanges(count) { start, end in for i in start..<end where inp[i] > 0 { dinp[i] += dout[i] } }
}
