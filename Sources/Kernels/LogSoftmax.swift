import CSIMD
import Foundation

/// `out[N,V] = log_softmax(inp[N,V])` row by row (PyTorch `torch.log_softmax(x, -1)`), in Double:
/// out = x − logSumExp(x). Perplexity, KL/JS divergences and distillation losses all read their
/// log-probabilities from here (a single entry: `Double(x[k]) − logSumExp(x)`). A −inf entry gets −inf;
/// a row that is entirely −inf gives NaN, as torch does.
public func logSoftmaxForward(_ out: UnsafeMutablePointer<Double>, _ inp: UnsafePointer<Float>, rows n: Int, cols v: Int) {
    parallelRanges(n, costPerItem: v) { start, end in
        for r in start..<end {
            let x = inp + r * v, o = out + r * v
            let lse = logSumExp(x, cols: v)
            for j in 0..<v { o[j] = Double(x[j]) - lse }
        }
    }
}

/// log Σ_j exp(x_j) over one row: m + log Σ exp(x_j − m) with m the row max, each term in Double.
@inline(__always)
public func logSumExp(_ x: UnsafePointer<Float>, cols v: Int) -> Double {
    var m = -Float.infinity
    for j in 0..<v where x[j] > m { m = x[j] }
    let md = Double(m)
    var s = 0.0
    for j in 0..<v { s += exp(Double(x[j]) - md) }
    return md + log(s)
}

/// `logSumExp` with exp in f32 lanes (CSIMD exp_loops.c: Cephes expf, ≤ 2 ulp) summed in Double: the
/// perplexity path's per-row cost over a 49,152-token vocabulary is then a fraction of the head's sgemm
/// (one Double `exp` per logit was a tenth of SmolLM2's evaluation). Falls back to `logSumExp` without
/// AVX2 and for a row whose max is ±∞ or NaN.
@inline(__always)
public func logSumExpFast(_ x: UnsafePointer<Float>, cols v: Int) -> Double {
    var r = 0.0
    return csimd_log_sum_exp(x, v, &r) != 0 ? r : logSumExp(x, cols: v)
}

/// Naive twin of `logSoftmaxForward`: log(exp(x_j) / Σ exp(x)) with the row max factored out, over arrays.
public func logSoftmaxForwardNaive(_ out: UnsafeMutablePointer<Double>, _ inp: UnsafePointer<Float>, rows n: Int, cols v: Int) {
    for r in 0..<n {
        let x = (0..<v).map { Double(inp[r * v + $0]) }
        let m = x.max() ?? 0
        let z = x.map { exp($0 - m) }.reduce(0, +)
        for j in 0..<v { out[r * v + j] = x[j] - m - log(z) }
    }
}
