import Foundation

/// Fused softmax + cross-entropy (PyTorch `F.cross_entropy(logits, target, ignore_index,
/// label_smoothing)` per row): `loss[r] = −(1−ε)·log p[target] − (ε/V)·Σ_j log p_j`, with
/// `p = softmax(logits[r])`. Rows whose target equals `ignoreIndex` get loss 0.
/// Returns the number of rows that were not ignored. (The forward lives here with its backward:
/// there is no stand-alone cross-entropy forward in `Kernels`.)
@discardableResult
public func crossEntropyForward(_ losses: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
                                rows n: Int, vocab v: Int, ignoreIndex: Int32 = -100, labelSmoothing eps: Float = 0) -> Int {
    var counted = 0
    for r in 0..<n where targets[r] != ignoreIndex { counted += 1 }
    parallelRanges(n, costPerItem: v) { start, end in
        for r in start..<end {
            let target = targets[r]
            if target == ignoreIndex { losses[r] = 0; continue }
            precondition(target >= 0 && Int(target) < v, "crossEntropyForward: target \(target) outside 0..<\(v)")
            let x = logits + r * v
            var m = -Float.infinity
            for j in 0..<v where x[j] > m { m = x[j] }
            var s: Float = 0
            for j in 0..<v { s += expf(x[j] - m) }
            let logZ = m + logf(s)
            var loss = (1 - eps) * (logZ - x[Int(target)])
            if eps != 0 {
                var sumX: Float = 0
                for j in 0..<v { sumX += x[j] }
                loss += eps * (logZ - sumX / Float(v))
            }
            losses[r] = loss
        }
    }
    return counted
}

/// Backward of `crossEntropyForward` with `dloss[r] = scale` for every counted row (scale = 1/count
/// for a mean): `dlogits[r] += scale·(p − (1−ε)·onehot(target) − ε/V)`. Ignored rows get nothing.
public func crossEntropyBackward(_ dlogits: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
                                 scale: Float, rows n: Int, vocab v: Int, ignoreIndex: Int32 = -100, labelSmoothing eps: Float = 0) {
    parallelRanges(n, costPerItem: v) { start, end in
        for r in start..<end {
            let target = targets[r]
            if target == ignoreIndex { continue }
            let x = logits + r * v, d = dlogits + r * v
            var m = -Float.infinity
            for j in 0..<v where x[j] > m { m = x[j] }
            var s: Float = 0
            for j in 0..<v { s += expf(x[j] - m) }
            let inv = 1 / s, smooth = eps / Float(v)
            for j in 0..<v { d[j] += scale * (expf(x[j] - m) * inv - smooth) }
            d[Int(target)] -= scale * (1 - eps)
        }
    }
}
