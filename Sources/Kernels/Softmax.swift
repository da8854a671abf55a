import CSIMD
import Foundation

/// `out[N,L] = softmax(inp[N,L])` row by row (PyTorch `torch.softmax(x, -1)`), computed with the max
/// subtracted. Entries equal to `-Float.infinity` get probability 0; a row that is entirely -inf
/// becomes all zeros (no NaN), which is what masked padding rows need.
public func softmaxForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows n: Int, cols l: Int) {
    parallelRanges(n, costPerItem: l) { start, end in
        for r in start..<end { softmaxRow(out + r * l, inp + r * l, l) }
    }
}

@inline(__always)
func softmaxRow(_ o: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ l: Int) {
    if csimd_softmax_row(o, x, l) != 0 { return }   // AVX-512 / AVX2 lanes (CSIMD exp_loops.c), else this scalar twin
    var m = -Float.infinity
    for i in 0..<l where x[i] > m { m = x[i] }
    if m == -Float.infinity { for i in 0..<l { o[i] = 0 }; return }
    var s: Float = 0
    for i in 0..<l { let e = expf(x[i] - m); o[i] = e; s += e }
    let inv = 1 / s
    for i in 0..<l { o[i] *= inv }
}

/// Naive twin of `softmaxForward` (Double accumulation).
public func softmaxForwardNaive(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows n: Int, cols l: Int) {
    for r in 0..<n {
        let x = inp + r * l
        let m = (0..<l).map { Double(x[$0]) }.max() ?? 0
        if m == -Double.infinity { for i in 0..<l { out[r * l + i] = 0 }; continue }
        let e = (0..<l).map { exp(Double(x[$0]) - m) }
        let s = e.reduce(0, +)
        for i in 0..<l { out[r * l + i] = Float(e[i] / s) }
    }
}

/// Clipped softmax (Bondarenko et al. 2023, ALGORITHMS.md §3.1), in place on probabilities `p[count]`:
/// `p = clip((ζ − γ)·p + γ, 0, 1)`. Masked entries (p = 0) map to γ < 0 and clip to 0.
public func clipSoftmaxForward(_ p: UnsafeMutablePointer<Float>, count: Int, gamma: Float, zeta: Float) {
    let scale = zeta - gamma
    parallelRanges(count) { start, end in
        for i in start..<end { p[i] = min(max(scale * p[i] + gamma, 0), 1) }
    }
}
