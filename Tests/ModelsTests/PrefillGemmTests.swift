import Checkpoints
import CSIMD
import Kernels
@testable import Models
import TestSupport
import XCTest

/// The f32 linears at prefill size (≥ `panelGemmRows` activation rows): CSIMD's panel GEMM on the pool
/// (`f32LinearsForward`, `csimd_f32_gemm_many`). Its outputs against the Double-accumulated naive twin
/// within the f32 summation bound; a group (q, k, v) run as one job bit for bit what each layer gives
/// alone; and a tiny Llama forward over 160 rows against transformers (tools/reference/prefill_reference.py).
final class PrefillGemmTests: XCTestCase {
    var rng = SeededNormal(seed: 20)
    func values(_ n: Int) -> [Float] { rng.array(n) }

    func layer(_ rows: Int, _ cols: Int, bias: Bool) -> Linear {
        Linear(weight: values(rows * cols), bias: bias ? values(rows) : nil, inFeatures: cols, outFeatures: rows)
    }

    /// Widths that are not multiples of the 64-row panel or the 16-row unit, K not a multiple of the
    /// 256-column panel depth, M not a multiple of the 6-row register block.
    func layers() -> [Linear] { [layer(130, 577, bias: true), layer(7, 577, bias: false), layer(261, 577, bias: true)] }

    /// Each output within γ_K·Σ_k |x_k·w_k| (+ the bias's rounding) of the sum in Double: the worst-case
    /// error of any order of K f32 multiply-adds (Higham, Accuracy and Stability, §3.1), u = 2⁻²⁴.
    func testEachOutputMatchesTheNaiveTwinWithinTheF32Bound() throws {
        try XCTSkipUnless(panelGemmRuns(rows: 131), "no AVX-512 (or WHITTLE_PREFILL_GEMM=blas): OpenBLAS runs these rows")
        let m = 131, ls = layers(), k = ls[0].inFeatures, x = values(m * k)
        let ys = uninitializedArrays(ls.map { m * $0.outFeatures }) { ys in
            x.withUnsafeBufferPointer { f32LinearsForward(ls, outputs: ys, x: $0.baseAddress!, rows: m) }
        }
        let u = Double(Float.ulpOfOne) / 2, gamma = Double(k + 1) * u / (1 - Double(k + 1) * u)
        for (s, l) in ls.enumerated() {
            var want = [Float](repeating: 0, count: m * l.outFeatures)
            want.withUnsafeMutableBufferPointer { w in
                withOptionalPointer(l.bias) { b in matmulForwardNaive(w.baseAddress!, x, l.weight, b, rows: m, inFeatures: k, outFeatures: l.outFeatures) }
            }
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<l.outFeatures {
                    var magnitude = abs(Double(l.bias?[j] ?? 0))
                    for p in 0..<k { magnitude += abs(Double(x[i * k + p]) * Double(l.weight[j * k + p])) }
                    let err = abs(Double(ys[s][i * l.outFeatures + j]) - Double(want[i * l.outFeatures + j]))
                    worst = max(worst, err / (gamma * magnitude + Double(Float.leastNormalMagnitude)))
                }
            }
            XCTAssertLessThanOrEqual(worst, 1, "output \(s): error over the bound")
        }
    }

    /// The panel GEMM (`csimd_f32_panel_gemm`) is, for every output, the chain of fused multiply-adds over
    /// k = 0, 1, … in order from +0: packing a panel (contiguous 16 × 16 blocks, gathers at the edges) only
    /// moves values, so any value packed to the wrong place, or not at all, changes the bits. Widths with
    /// partial 16-row groups and half panels (≤ 32 rows: 7, 30, 261 = 4·64 + 5; 33 is a full one), K with
    /// 16-column edges (577 = 256 + 256 + 64 + 1; 40; 7: gathers only).
    func testPanelGemmIsTheInOrderFusedMultiplyAddChainBitForBit() throws {
        try XCTSkipUnless(csimd_avx512_available() != 0, "no AVX-512: the panel GEMM declines")
        let m = 13
        for (n, k) in [(261, 577), (130, 40), (7, 7), (30, 48), (33, 256)] {
            let x = values(m * k), w = values(n * k)
            var y = [Float](repeating: .nan, count: m * n)
            let done = y.withUnsafeMutableBufferPointer { csimd_f32_panel_gemm($0.baseAddress!, n, x, m, w, n, k) }
            XCTAssertEqual(done, n, "n = \(n), k = \(k): declined")
            var mismatches = 0
            for i in 0..<m {
                for j in 0..<n {
                    var acc: Float = 0
                    for p in 0..<k { acc.addProduct(x[i * k + p], w[j * k + p]) }
                    if acc.bitPattern != y[i * n + j].bitPattern { mismatches += 1 }
                }
            }
            XCTAssertEqual(mismatches, 0, "n = \(n), k = \(k): outputs not the in-order FMA chain")
        }
    }

    /// q, k, v as one pool job (`fusedLinearForward` at ≥ panelGemmRows rows) equal each layer's own
    /// `forward` bit for bit, biases included — also when the pool splits them differently (one thread).
    func testAGroupEqualsEachLayerAloneBitForBit() throws {
        let ls = layers()
        for m in [128, 131, 300] {
            let x = values(m * ls[0].inFeatures)
            guard let fused = fusedLinearForward(ls, x, rows: m) else {
                XCTAssertFalse(panelGemmRuns(rows: m), "m = \(m): f32 layers at prefill size not fused"); continue
            }
            for (s, l) in ls.enumerated() { XCTAssertEqual(fused[s], l(x, rows: m), "m = \(m), output \(s)") }
            let saved = Threads.count
            Threads.set(1)
            defer { Threads.set(saved) }
            for (s, l) in ls.enumerated() { XCTAssertEqual(fused[s], l(x, rows: m), "m = \(m), output \(s), one thread") }
        }
        XCTAssertNil(fusedLinearForward(ls, values(127 * ls[0].inFeatures), rows: 127), "below panelGemmRows (not one row): OpenBLAS, one by one")
    }

    /// The whole forward over 2 × 80 = 160 rows (every linear on the panel GEMM) against transformers.
    func testA160RowForwardMatchesTransformers() throws {
        let c = try ReferenceCase("llama_prefill")
        let model = try TransformerModel.load(from: try Checkpoint(path: c.folder))
        let input = try ReferenceCase.input(c.reference)
        XCTAssertEqual(input.tokens.count * input.tokens[0].count, 160)
        let out = try model.forward(input)
        let (want, shape) = try c.expected("output")
        XCTAssertEqual(out.shape, shape)
        assertClose(out.logits, want, atol: 1e-4, "llama_prefill, 160 rows")
    }
}
