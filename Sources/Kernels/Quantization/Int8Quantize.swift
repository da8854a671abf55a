import CSIMD

/// Symmetric int8 quantization as compressed-tensors computes it (`calculate_qparams`,
/// `_quantize` in `compressed_tensors/quantization`): for a row (a weight's output channel, or a
/// token's activations)
///   scale = max(|min(x, 0)|, max(x, 0)) / 127.5      (bit range 255 / 2; 0 → Float32 eps)
///   q     = clamp(round_half_even(x / scale), −128, 127)
/// and x̂ = q · scale. Shapes: x [rows, cols] row-major, q [rows, cols], scale [rows].

/// The per-row scale, rounded through `scaleDType` rounding (F32: none) as it is stored.
@inline(__always)
public func int8SymmetricScale(absmax: Float) -> Float {
    let s = absmax / 127.5
    return s == 0 ? Float.ulpOfOne : s
}

@inline(__always)
public func int8Round(_ v: Float) -> Int8 {
    Int8(min(max(v, -128), 127).rounded(.toNearestOrEven))
}

/// One value with a given scale: x̂ = clamp(round_half_even(x / scale), −128, 127) · scale (the static
/// probe's weights, whose range is chosen by MSE; `int8QuantizeRows` codes times their scale).
@inline(__always)
public func int8FakeQuantize(_ x: Float, scale: Float) -> Float {
    Float(int8Round(x / scale)) * scale
}

/// Quantizes each row with its own scale (per-channel weights, per-token activations).
/// `roundScale` maps the Float32 scale to the value actually stored (e.g. through BF16).
public func int8QuantizeRows(q: UnsafeMutablePointer<Int8>, scale: UnsafeMutablePointer<Float>,
                             x: UnsafePointer<Float>, rows: Int, cols: Int,
                             roundScale: (Float) -> Float = { $0 }) {
    for r in 0..<rows {
        let row = x + r * cols
        let s = roundScale(int8SymmetricScale(absmax: absMax(row, cols)))
        scale[r] = s
        let out = q + r * cols
        for c in csimd_int8_quantize_row(row, s, out, cols)..<cols { out[c] = int8Round(row[c] / s) }   // AVX2, then the tail
    }
}

/// Σ (x − q·scale)² and Σ x² over one row, in Double (q·scale rounded to Float first, as
/// `int8DequantizeRows` gives it): the pieces of a weight's relative reconstruction error.
public func int8SquaredError(x: UnsafePointer<Float>, q: UnsafePointer<Int8>, scale: Float, count: Int) -> (num: Double, den: Double) {
    withUnsafeTemporaryAllocation(of: Double.self, capacity: 2) { sums in
        sums[0] = 0; sums[1] = 0
        let done = csimd_int8_squared_error(sums.baseAddress!, x, q, scale, count)
        for c in done..<count {
            let w = Double(x[c]), d = w - Double(Float(q[c]) * scale)
            sums[0] += d * d; sums[1] += w * w
        }
        return (sums[0], sums[1])
    }
}

/// x̂ = q · scale per row.
public func int8DequantizeRows(output: UnsafeMutablePointer<Float>, q: UnsafePointer<Int8>,
                               scale: UnsafePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows {
        let s = scale[r]
        for c in 0..<cols { output[r * cols + c] = Float(q[r * cols + c]) * s }
    }
}
