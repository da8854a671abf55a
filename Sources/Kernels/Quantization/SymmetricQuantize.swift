/// Symmetric `bits`-bit quantization as TernaryBERT/TI's `SymQuantizer` (ALGORITHMS.md §4.1; TI's
/// activations use 8 bits after a ±2.5 clamp): with Q = 2^(bits−1) − 1 and m = max|x| over the group,
///   s = m / Q,  q = clamp(round_half_even(x / s), −Q, Q),  x̂ = q·s
/// The levels are symmetric (−Q…Q, no −2^(bits−1)); an all-zero group has s = 0 and x̂ = 0.
/// (TI computes round(x·(Q/m))/(Q/m); dividing by s is what the codes and their scale reproduce.)

@inline(__always)
func symmetricLevels(bits: Int) -> Float { Float((1 << (bits - 1)) - 1) }

/// Codes of one group of `n` values; returns its scale.
func symmetricQuantizeGroup(codes: UnsafeMutablePointer<Int32>, x: UnsafePointer<Float>, count n: Int, bits: Int) -> Float {
    let levels = symmetricLevels(bits: bits)
    let scale = absMax(x, n) / levels
    if scale == 0 { for i in 0..<n { codes[i] = 0 }; return 0 }
    for i in 0..<n { codes[i] = Int32(min(max((x[i] / scale).rounded(.toNearestOrEven), -levels), levels)) }
    return scale
}
