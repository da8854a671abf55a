import Foundation

/// GELU, exact erf form (PyTorch `gelu`, BERT `"gelu"`): `out = x · ½(1 + erf(x/√2))`. In place allowed.
public func geluErfForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
    parallelRanges(count, costPerItem: 8) { start, end in
        for i in start..<end { let x = inp[i]; out[i] = 0.5 * x * (1 + erff(x * 0.70710678118654752)) }
    }
}

/// GELU, tanh approximation (PyTorch `gelu(approximate="tanh")`, GPT-2 `"gelu_new"`):
/// `out = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))`. In place allowed.
public func geluTanhForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
    let k: Float = 0.7978845608028654   // √(2/π)
    parallelRanges(count, costPerItem: 8) { start, end in
        for i in start..<end { let x = inp[i]; out[i] = 0.5 * x * (1 + tanhf(k * (x + 0.044715 * x * x * x))) }
    }
}

/// Naive twins (Double).
public func geluErfNaive(_ x: Float) -> Float { Float(0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))) }
public func geluTanhNaive(_ x: Float) -> Float {
    let d = Double(x)
    return Float(0.5 * d * (1 + tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d))))
}
