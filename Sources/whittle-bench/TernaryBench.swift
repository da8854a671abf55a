import Foundation
import Kernels
import Tensors

/// `whittle-bench ternary`: the packed ternary linear (2-bit weights × int8 activations —
/// `packed2LinearForward`, activation quantization included; AVX-512 VNNI where the CPU has it, else
/// AVX2) against f32 sgemm (`matmulForward`) on the same (dequantized ternary) weights, y[M, N] = x[M, K]·Wᵀ.
/// Both use the machine's cores. Each of `rounds` rounds times both kernels (`compare`: wall and process
/// CPU time) and records sgemm time / ternary time; the ranges over rounds are printed, since the machine
/// is shared and noisy.
/// Two settings: (1) one weight matrix called again and again (hot cache: MiniLM's 2.4 MB of f32 weights
/// stay in L2/L3 between calls); (2) at M = 1, one pass over a whole model's worth of distinct weights
/// (MiniLM-L6's 36 block linears, 42 MB in f32, 2.7 MB packed), as a real forward touches every linear
/// once. At M = 1 a ceiling for any f32 kernel is added to (1): one pass reading the f32 weights.
func runTernaryBench() throws {
    let rounds = Int(ProcessInfo.processInfo.environment["TERNARY_ROUNDS"] ?? "") ?? 5
    var rng = SeededGenerator(seed: 15)
    let activations = Quantizer.symmetric(bits: 8, .tensor, clip: 2.5)
    print("ternary matmul (\(packed2KernelName)) vs f32 sgemm (same weights), \(rounds) rounds; ratio = sgemm time / ternary time (> 1: ternary faster); wall and process CPU µs per call")
    print("(1) one weight matrix, called repeatedly (hot cache)")
    for (n, k) in [(1536, 384), (384, 1536), (5632, 2048)] {
        let layer = TernaryLayer(n: n, k: k, rng: &rng)
        for m in [1, 16, 128] {
            let x = (0..<(m * k)).map { _ in Float.random(in: -2...2, using: &rng) }
            var y = [Float](repeating: 0, count: m * n)
            var sink: Float = 0
            let result = compare(rounds: rounds,
                                 f32: { matmulForward(&y, x, layer.dense, nil, rows: m, inFeatures: k, outFeatures: n) },
                                 ternary: { layer.forward(&y, x, m: m, activations: activations) },
                                 ceiling: m == 1 ? { sink += layer.dense.withUnsafeBufferPointer { sum($0) } } : nil)
            print(String(format: "M=%3d N=%4d K=%4d: ", m, n, k) + result + (sink.isNaN ? " " : ""))
        }
    }
    // MiniLM-L6: 6 blocks of Q, K, V, O [384, 384], FFN up [1536, 384], FFN down [384, 1536].
    print("(2) M = 1, one pass over MiniLM-L6's 36 distinct block linears (a forward's weights, cold for f32)")
    let shapes = Array(repeating: [(384, 384), (384, 384), (384, 384), (384, 384), (1536, 384), (384, 1536)], count: 6).flatMap { $0 }
    let model = shapes.map { TernaryLayer(n: $0.0, k: $0.1, rng: &rng) }
    let inputs = shapes.map { s in (0..<s.1).map { _ in Float.random(in: -2...2, using: &rng) } }
    var y = [Float](repeating: 0, count: 1536)
    let result = compare(rounds: rounds,
                         f32: { for (l, x) in zip(model, inputs) { matmulForward(&y, x, l.dense, nil, rows: 1, inFeatures: l.k, outFeatures: l.n) } },
                         ternary: { for (l, x) in zip(model, inputs) { l.forward(&y, x, m: 1, activations: activations) } },
                         ceiling: nil)
    print("36 linears, 42.5 MB f32 / 2.7 MB packed: " + result)
}

/// One ternary linear: TWN codes of seeded weights, packed, and the same weights dequantized.
private struct TernaryLayer {
    let n: Int, k: Int, packed: PackedCodes, scale: Float, dense: [Float]
    init(n: Int, k: Int, rng: inout SeededGenerator) {
        let w = (0..<(n * k)).map { _ in Float.random(in: -0.1...0.1, using: &rng) }
        let codes = Quantizer.ternary(.tensor, clip: 2.5).quantize(w, rows: n, cols: k)
        self.n = n; self.k = k
        packed = codes.codes.withUnsafeBufferPointer { PackedCodes(bits: 2, rows: n, cols: k, codes: $0) }
        scale = codes.scales[0]; dense = codes.dequantized()
    }
    func forward(_ y: inout [Float], _ x: [Float], m: Int, activations: Quantizer) {
        packed2LinearForward(y: &y, x: x, weight: packed, scale: scale, activations: activations, bias: nil, m: m)
    }
}

/// Times both sides `rounds` times (each the best of 3 batches of ≈ 20 ms of sgemm calls, wall time and,
/// separately, process CPU time per call) and formats the ranges over rounds, with the ratio's range and
/// median for each clock. On a loaded machine a 20 ms sgemm batch is preempted where a short ternary
/// batch is not, so the wall ratio flatters the ternary kernel there; the CPU-time ratio does not (with
/// one thread a side it is the fair one; with more it also counts the helpers' spinning).
private func compare(rounds: Int, f32: () -> Void, ternary: () -> Void, ceiling: (() -> Void)?) -> String {
    let once = seconds { f32() }
    let calls = max(1, Int(0.02 / max(once, 1e-7)))
    func time(_ body: () -> Void) -> (wall: Double, cpu: Double) {
        var best = (wall: Double.infinity, cpu: Double.infinity)
        for _ in 0..<3 {
            let (_, wall, cpu) = timed { for _ in 0..<calls { body() } }
            best = (min(best.wall, wall), min(best.cpu, cpu))
        }
        return (best.wall / Double(calls), best.cpu / Double(calls))
    }
    var f: [(wall: Double, cpu: Double)] = [], t: [(wall: Double, cpu: Double)] = [], c: [Double] = []
    for _ in 0..<rounds {
        f.append(time(f32)); t.append(time(ternary))
        if let ceiling { c.append(time(ceiling).wall) }
    }
    func range(_ v: [Double], _ unit: Double) -> String { String(format: "%.1f–%.1f", v.min()! * unit, v.max()! * unit) }
    func ratios(_ r: [Double]) -> String { String(format: "%.2f–%.2f× (median %.2f×)", r.min()!, r.max()!, r.sorted()[r.count / 2]) }
    var line = "sgemm \(range(f.map(\.wall), 1e6)) µs (cpu \(range(f.map(\.cpu), 1e6))), ternary \(range(t.map(\.wall), 1e6)) µs (cpu \(range(t.map(\.cpu), 1e6)))"
    line += "; ratio wall " + ratios(zip(f, t).map { $0.wall / $1.wall }) + ", cpu " + ratios(zip(f, t).map { $0.cpu / $1.cpu })
    if !c.isEmpty {
        let r = zip(c, t).map { $0 / $1.wall }
        line += String(format: "; f32 weight read %.1f–%.1f µs = %.2f–%.2f× ternary", c.min()! * 1e6, c.max()! * 1e6, r.min()!, r.max()!)
    }
    return line
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
