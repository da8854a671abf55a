import Foundation

/// Llama 3.1-style rope scaling in GGUF: llama.cpp keeps no `rope_scaling` keys for it but a
/// `rope_freqs.weight` tensor of `head_dim / 2` divisors of the rotary frequencies, computed by
/// convert_hf_to_gguf.py's `LlamaModel.generate_extra_tensors` from the Hugging Face parameters
/// (transformers' `_compute_llama3_parameters`): with wavelength `w = 2π / f`, the divisor is 1 when
/// `w < orig / high`, `factor` when `w > orig / low`, else `1 / ((1 − s) / factor + s)` with
/// `s = (orig / w − low) / (high − low)`.
public enum GGUFRopeFreqs {
    public static let tensorName = "rope_freqs.weight"

    /// The converter's divisors for `rope` (a config's `rope_scaling`/`rope_parameters` object of type
    /// "llama3"), in its Float32 arithmetic: `freqs = 1 / base ** (arange(0, dim, 2) / dim)` and the
    /// rule above, each step a float32 tensor operation.
    public static func factors(theta: Double, dim: Int, rope: [String: Any]) -> [Float] {
        func number(_ key: String, _ fallback: Double) -> Double { (rope[key] as? Double) ?? (rope[key] as? Int).map(Double.init) ?? fallback }
        let factor = Float(number("factor", 8)), low = Float(number("low_freq_factor", 1)), high = Float(number("high_freq_factor", 4))
        let original = Float(number("original_max_position_embeddings", 8192))
        let lowWavelen = original / low, highWavelen = original / high
        return stride(from: 0, to: dim, by: 2).map { i in
            let freq = 1 / powf(Float(theta), Float(i) / Float(dim))
            let wavelen = Float(2 * Double.pi) / freq
            if wavelen < highWavelen { return 1 }
            if wavelen > lowWavelen { return factor }
            let smooth = (original / wavelen - low) / (high - low)
            return 1 / ((1 - smooth) / factor + smooth)
        }
    }

    /// A `rope_scaling` object of type "llama3" whose divisors equal `stored` (within 1e-5 relative),
    /// or nil when every divisor is 1. The divisors fix only the two wavelength thresholds `orig / high`
    /// and `orig / low` (and `factor`); `original_max_position_embeddings` is set to 8192 (the
    /// converter's default) and the two factors follow. Throws `reason` text when no llama3 rule fits.
    public static func llama3Scaling(stored: [Float], theta: Double, dim: Int) -> Result<[String: Any]?, Reason> {
        guard stored.count == dim / 2, dim >= 2 else { return .failure(Reason("has \(stored.count) values, expected head_dim / 2 = \(dim / 2)")) }
        guard stored.allSatisfy({ $0.isFinite && $0 >= 1 }) else { return .failure(Reason("has a value below 1 or not finite (llama3 divisors are ≥ 1)")) }
        let factor = Double(stored.max()!)
        if factor == 1 { return .success(nil) }
        // x = 1 / wavelength grows with the frequency; s(x) = (x − a) / (b − a), a = low / orig, b = high / orig.
        let x = (0..<dim / 2).map { i in 1 / (2 * Double.pi / (1 / pow(theta, Double(2 * i) / Double(dim)))) }
        let s = stored.map { r in (1 / Double(r) - 1 / factor) / (1 - 1 / factor) }
        let tolerance = 1e-6
        let smooth = s.indices.filter { s[$0] > tolerance && s[$0] < 1 - tolerance }
        let full = s.indices.filter { s[$0] <= tolerance }, ones = s.indices.filter { s[$0] >= 1 - tolerance }
        let (a, b): (Double, Double)
        if smooth.count >= 2 {
            let i = smooth.first!, j = smooth.last!
            let slope = (s[j] - s[i]) / (x[j] - x[i])
            a = x[i] - s[i] / slope; b = a + 1 / slope
        } else {
            // Thresholds anywhere between the neighbouring frequencies reproduce the divisors.
            let lowEdge = full.map { x[$0] }.max() ?? 0, highEdge = ones.map { x[$0] }.min() ?? 2 * (x.max() ?? 1)
            if let k = smooth.first {
                a = (lowEdge + x[k]) / 2; b = a + (x[k] - a) / s[k]
            } else {
                a = lowEdge + (highEdge - lowEdge) / 3; b = lowEdge + 2 * (highEdge - lowEdge) / 3
            }
        }
        guard a > 0, b > a else { return .failure(Reason("is not a llama3 rope scaling (no pair of wavelength thresholds fits)")) }
        let original = 8192.0
        let rope: [String: Any] = ["rope_type": "llama3", "factor": factor, "low_freq_factor": a * original,
                                   "high_freq_factor": b * original, "original_max_position_embeddings": Int(original)]
        // Check in Double: the thresholds reproduce every stored divisor.
        for (i, r) in stored.enumerated() {
            let sx = (x[i] - a) / (b - a)
            let want = sx >= 1 ? 1 : sx <= 0 ? factor : 1 / ((1 - sx) / factor + sx)
            if abs(want - Double(r)) > 1e-5 * Double(r) {
                return .failure(Reason("value \(i) (\(r)) does not follow a llama3 rope scaling (expected \(Float(want)))"))
            }
        }
        return .success(rope)
    }

    public struct Reason: Error { public let text: String; init(_ text: String) { self.text = text } }
}
