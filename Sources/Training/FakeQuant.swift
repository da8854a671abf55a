import Models
import Foundation

extension Tape {
    /// Fake quantization of a weight `[rows, cols]` with straight-through gradients (QAT):
    /// per row, symmetric `bits`-bit levels with step `s = clipRatio·max|w| / (2^(bits−1) − 1)`,
    /// `ŵ = s·clamp(round(w/s), −2^(bits−1), 2^(bits−1) − 1)`. Backward passes the gradient unchanged
    /// where `|w| ≤ clipRatio·max|w|` and zeroes it where the value was clipped (PACT-style STE).
    public func fakeQuantize(_ w: Variable, bits: Int, clipRatio: Float = 1) -> Variable {
        precondition(w.shape.count == 2 && (2...16).contains(bits), "fakeQuantize: needs a matrix and 2…16 bits")
        let rows = w.shape[0], cols = w.shape[1]
        let qmax = Float((1 << (bits - 1)) - 1), qmin = -qmax - 1
        var y = zeros(w.count), limits = zeros(rows)
        for r in 0..<rows {
            var m: Float = 0
            for j in 0..<cols { m = max(m, abs(w.value[r * cols + j])) }
            let limit = clipRatio * m, s = limit / qmax
            limits[r] = limit
            for j in 0..<cols {
                let x = w.value[r * cols + j]
                y[r * cols + j] = s == 0 ? 0 : s * min(max((x / s).rounded(.toNearestOrEven), qmin), qmax)
            }
        }
        let out = output(y, shape: w.shape, from: [w])
        recordBackward(out) { dout in
            w.withGrad { dw in
                guard let dw else { return }
                for r in 0..<rows {
                    for j in 0..<cols where abs(w.value[r * cols + j]) <= limits[r] { dw[r * cols + j] += dout[r * cols + j] }
                }
            }
        }
        return out
    }
}
