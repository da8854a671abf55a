import Foundation
import Kernels
import Tensors

/// `whittle-bench ternary`: the packed ternary linear (2-bit weights × int8 activations, AVX2 —
/// `packed2LinearForward`, activation quantization included) against f32 sgemm (`matmulForward`) on
/// the same (dequantized ternary) weights, y[M, N] = x[M, K]·Wᵀ. Both use the machine's cores. Each
/// of `rounds` rounds times both kernels (best of 3 batches of calls) and records sgemm time /
/// ternary time; the ranges over rounds are printed, since the machine is shared and noisy. At M = 1
/// a ceiling for any f32 kernel is added: one pass reading the f32 weights (a single-thread sum).
func runTernaryBench() throws {
    let rounds = Int(ProcessInfo.processInfo.environment["TERNARY_ROUNDS"] ?? "") ?? 5
    var rng = SeededGenerator(seed: 15)
    let activations = Quantizer.symmetric(bits: 8, .tensor, clip: 2.5)
    print("ternary matmul vs f32 sgemm (same weights), \(rounds) rounds; ratio = sgemm time / ternary time (> 1: ternary faster)")
    for (n, k) in [(1536, 384), (384, 1536), (5632, 2048)] {
        let w = (0..<(n * k)).map { _ in Float.random(in: -0.1...0.1, using: &rng) }
        let codes = Quantizer.ternary(.tensor, clip: 2.5).quantize(w, rows: n, cols: k)
        let packed = codes.codes.withUnsafeBufferPointer { PackedCodes(bits: 2, rows: n, cols: k, codes: $0) }
        let dense = codes.dequantized()
        for m in [1, 16, 128] {
            let x = (0..<(m * k)).map { _ in Float.random(in: -2...2, using: &rng) }
            var y = [Float](repeating: 0, count: m * n)
            // Calls per timed batch: about 20 ms of sgemm.
            let once = seconds { matmulForward(&y, x, dense, nil, rows: m, inFeatures: k, outFeatures: n) }
            let calls = max(1, Int(0.02 / max(once, 1e-7)))
            func time(_ body: () -> Void) -> Double {
                var best = Double.infinity
                for _ in 0..<3 { best = min(best, seconds { for _ in 0..<calls { body() } } / Double(calls)) }
                return best
            }
            var ratios: [Double] = [], f32s: [Double] = [], t2s: [Double] = [], streams: [Double] = []
            var sink: Float = 0
            for _ in 0..<rounds {
                let f32 = time { matmulForward(&y, x, dense, nil, rows: m, inFeatures: k, outFeatures: n) }
                let t2 = time { packed2LinearForward(y: &y, x: x, weight: packed, scale: codes.scales[0], activations: activations, bias: nil, m: m) }
                if m == 1 { streams.append(time { sink += dense.withUnsafeBufferPointer { sum($0) } }) }
                ratios.append(f32 / t2); f32s.append(f32); t2s.append(t2)
            }
            let median = ratios.sorted()[ratios.count / 2]
            var line = String(format: "M=%3d N=%4d K=%4d: sgemm %.1f–%.1f µs, ternary %.1f–%.1f µs; ratio %.2f–%.2f× (median %.2f×)",
                              m, n, k, f32s.min()! * 1e6, f32s.max()! * 1e6, t2s.min()! * 1e6, t2s.max()! * 1e6, ratios.min()!, ratios.max()!, median)
            if !streams.isEmpty {
                let r = zip(streams, t2s).map { $0 / $1 }
                line += String(format: "; f32 weight read %.1f–%.1f µs = %.2f–%.2f× ternary", streams.min()! * 1e6, streams.max()! * 1e6, r.min()!, r.max()!)
            }
            print(line + (sink.isNaN ? " " : ""))
        }
    }
}

/// Σ of the values (8 independent lanes, so the compiler vectorises it): a read of the f32 weights.
func sum(_ v: UnsafeBufferPointer<Float>) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= v.count { acc += SIMD8<Float>(v[i..<(i + 8)]); i += 8 }
    var s = acc.sum()
    while i < v.count { s += v[i]; i += 1 }
    return s
}
