/// Backward of `rotaryForward`, in place on the gradient `dx[N, H·HD]`: the forward is a rotation by
/// the position angle, so the backward rotates by the opposite angle:
/// `(g1, g2) ← (g1·cos + g2·sin, g2·cos − g1·sin)`.
public func rotaryBackward(_ dx: UnsafeMutablePointer<Float>, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
                           rows n: Int, heads h: Int, headDim hd: Int) {
    let half = hd / 2
    parallelRanges(n, costPerItem: h * hd) { start, end in
        for r in start..<end {
            let c = cos + r * half, s = sin + r * half
            for head in 0..<h {
                let p = dx + r * h * hd + head * hd
                for i in 0..<half {
                    let g1 = p[i], g2 = p[i + half]
                    p[i] = g1 * c[i] + g2 * s[i]
                    p[i + half] = g2 * c[i] - g1 * s[i]
                }
            }
        }
    }
}
