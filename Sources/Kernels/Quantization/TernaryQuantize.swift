/// Ternary weights (TWN, Li et al. 2016) as TernaryBERT/TI's `TwnQuantizer` (ALGORITHMS.md §4.1):
///   Δ = 0.7 · mean|w|,  α = mean{ |w| : |w| > Δ },  ŵ = α·sign(w)·1[|w| > Δ]
/// over a group (the whole layer, or one embedding row). Sums and Δ are in Double (torch sums in
/// Float32, so a value within rounding of Δ may land on the other side there); α is rounded to Float.
/// An all-zero group has α = 0.

/// The mean scale of TWN's threshold (TI `mean_scale`).
public let ternaryMeanScale = 0.7

/// Δ = 0.7 · mean|x| over `n` values, in Double.
public func ternaryThreshold(_ x: UnsafePointer<Float>, count n: Int) -> Double {
    var sum = 0.0
    for i in 0..<n { sum += Double(abs(x[i])) }
    return ternaryMeanScale * (sum / Double(n))
}

/// Codes (−1, 0, 1) of one group of `n` values; returns α.
func ternaryQuantizeGroup(codes: UnsafeMutablePointer<Int32>, x: UnsafePointer<Float>, count n: Int) -> Float {
    let delta = ternaryThreshold(x, count: n)
    var kept = 0.0, count = 0
    for i in 0..<n {
        let a = Double(abs(x[i]))
        if a > delta {
            kept += a; count += 1
            codes[i] = x[i] > 0 ? 1 : -1
        } else {
            codes[i] = 0
        }
    }
    return count == 0 ? 0 : Float(kept / Double(count))
}
