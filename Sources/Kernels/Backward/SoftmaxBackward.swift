/// Backward of `softmaxForward` given its output `p`: `dinp += p·(dout − Σ p·dout)` per row. Accumulates.
public func softmaxBackward(_ dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, out p: UnsafePointer<Float>,
                            rows n: Int, cols l: Int) {
    parallelRanges(n, costPerItem: 2 * l) { start, end in
        for r in start..<end { softmaxRowBackward(dinp + r * l, dout + r * l, p + r * l, l) }
    }
}

@inline(__always)
func softmaxRowBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ p: UnsafePointer<Float>, _ l: Int) {
    var dot: Float = 0
    for i in 0..<l { dot += p[i] * dy[i] }
    for i in 0..<l { dx[i] += p[i] * (dy[i] - dot) }
}

/// Backward of `clipSoftmaxForward` given the probabilities *before* clipping:
/// `dp = dout·(ζ − γ)` where `0 < (ζ − γ)p + γ < 1`, else 0 (clip has zero slope). Overwrites `dp`.
public func clipSoftmaxBackward(_ dp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                                count: Int, gamma: Float, zeta: Float) {
    let scale = zeta - gamma
    parallelRanges(count) { start, end in
        for i in start..<end {
            let y = scale * probs[i] + gamma
            dp[i] = (y > 0 && y < 1) ? dout[i] * scale : 0
        }
    }
}
