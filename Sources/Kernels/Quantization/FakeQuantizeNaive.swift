import Foundation

/// The test oracle of `Quantizer.fakeQuantizeForward` / `fakeQuantizeBackward`: each scheme written
/// straight from its formula (`Quantizer.swift`) over Swift arrays, one group at a time, without
/// codes, SIMD or threads. Per-value arithmetic stays in Float as the definitions are (a Double
/// quotient would round ties differently); sums are in Double. NF4 uses the naive bitsandbytes twins.
extension Quantizer {
    public func fakeQuantizeForwardNaive(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int, cols: Int) {
        let n = rows * cols
        guard n > 0 else { return }
        let x = (0..<n).map { i in clip.map { min(max(inp[i], -$0), $0) } ?? inp[i] }
        if scheme == .nf4 {
            var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
            var absmax = [Float](repeating: 0, count: (n + blockSize - 1) / blockSize)
            nf4QuantizeNaive(packed: &packed, absmax: &absmax, input: x, count: n, blockSize: blockSize)
            nf4DequantizeNaive(output: out, packed: packed, absmax: absmax, count: n, blockSize: blockSize)
            return
        }
        let g = granularity == .tensor ? n : cols
        for start in stride(from: 0, to: n, by: g) {
            let group = Array(x[start..<(start + g)])
            let y: [Float]
            switch scheme {
            case .int8: y = Self.int8Naive(group)
            case .uint8Asymmetric: y = Self.uint8AsymmetricNaive(group)
            case .ternary: y = Self.ternaryNaive(group)
            case .symmetric: y = Self.symmetricNaive(group, bits: bits)
            case .nf4: preconditionFailure()
            }
            for i in 0..<g { out[start + i] = y[i] }
        }
    }

    public func fakeQuantizeBackwardNaive(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                                          rows: Int, cols: Int) {
        for i in 0..<(rows * cols) {
            let clipped = clip.map { inp[i] >= $0 || inp[i] <= -$0 } ?? false   // TI: input.ge(clip), input.le(−clip)
            dinp[i] += clipped ? 0 : dout[i]
        }
    }

    /// s = max|x| / 127.5 (0 → eps), q = clamp(round(x/s), −128, 127), x̂ = q·s.
    static func int8Naive(_ x: [Float]) -> [Float] {
        let m = x.map(abs).max()!
        let s = m / 127.5 == 0 ? Float.ulpOfOne : m / 127.5
        return x.map { Float(Int(min(max(($0 / s).rounded(.toNearestOrEven), -128), 127))) * s }
    }

    /// Range widened to 0, Δ = (hi − lo)/255 (0 → eps), z = clamp(round(−lo/Δ), 0, 255), x̂ = Δ(q − z).
    static func uint8AsymmetricNaive(_ x: [Float]) -> [Float] {
        let lo = min(x.min()!, 0), hi = max(x.max()!, 0)
        let d = (hi - lo) / 255 == 0 ? Float.ulpOfOne : (hi - lo) / 255
        let z = min(max((-lo / d).rounded(.toNearestOrEven), 0), 255)
        return x.map { d * (min(max(($0 / d).rounded(.toNearestOrEven) + z, 0), 255) - z) }
    }

    /// Δ = 0.7·mean|x| and α = mean of |x| above Δ, in Double; x̂ = ±α above Δ, else 0.
    static func ternaryNaive(_ x: [Float]) -> [Float] {
        let a = x.map { Double(abs($0)) }
        let delta = 0.7 * (a.reduce(0, +) / Double(a.count))
        let kept = a.filter { $0 > delta }
        let alpha = kept.isEmpty ? 0 : Float(kept.reduce(0, +) / Double(kept.count))
        return x.map { Double(abs($0)) > delta ? ($0 > 0 ? alpha : -alpha) : 0 }
    }

    /// Q = 2^(bits−1) − 1, s = max|x|/Q, x̂ = clamp(round(x/s), −Q, Q)·s; 0 when s = 0.
    static func symmetricNaive(_ x: [Float], bits: Int) -> [Float] {
        let levels = Float(Int(pow(2.0, Double(bits - 1))) - 1)
        let s = x.map(abs).max()! / levels
        if s == 0 { return x.map { _ in 0 } }
        return x.map { Float(Int(min(max(($0 / s).rounded(.toNearestOrEven), -levels), levels))) * s }
    }
}
