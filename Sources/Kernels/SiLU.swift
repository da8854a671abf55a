import CSIMD
import Foundation

/// SiLU (`x · sigmoid(x)`), in place allowed.
public func siluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
    parallelRanges(count, costPerItem: 8) { start, end in
        for i in start..<end { let x = inp[i]; out[i] = x / (1 + expf(-x)) }
    }
}

/// SwiGLU (Llama MLP): `out[i] = silu(gate[i]) · up[i]`. `out` may alias `gate` or `up`.
public func swigluForward(_ out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int) {
    parallelRanges(count, costPerItem: 8) { start, end in
        if csimd_swiglu(out + start, gate + start, up + start, end - start) != 0 { return }   // AVX-512 / AVX2 lanes
        for i in start..<end { let g = gate[i]; out[i] = g / (1 + expf(-g)) * up[i] }
    }
}

/// ReLU, in place allowed.
public func reluForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
    parallelRanges(count) { start, end in for i in start..<end { out[i] = max(inp[i], 0) } }
}

/// Naive twin (Double).
public func siluNaive(_ x: Float) -> Float { Float(Double(x) / (1 + exp(-Double(x)))) }
