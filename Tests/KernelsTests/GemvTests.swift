import XCTest
import CSIMD
import Kernels
import TestSupport

/// The decode step's f32 product (CSIMD gemv.c: `csimd_sgemv`, `gemvForward`, and `matmulForward` at one
/// row, which takes it) against the naive twin `matmulForwardNaive` (Double sums). Sums differ from the
/// twin's in order only, so they are held to the rounding bound of a K-term f32 dot product,
/// |fast − naive| ≤ 2·K·ε·Σ_k |x_k·w_k| (+1e-30).
final class GemvTests: XCTestCase {
    /// Every register-block height 1…4 and remainders (M up to 8), weight rows not a multiple of 4, K
    /// below, at and past 16 with partial last chunks, and a sub-range [n0, n1) that leaves the rest alone.
    func testKernelEqualsNaive() throws {
        try XCTSkipUnless(csimd_avx512_available() != 0, "no AVX-512 on this CPU: the f32 GEMV does not run (matmulForward takes OpenBLAS sgemv)")
        var rng = SeededNormal(seed: 41)
        for (M, N, K) in [(1, 37, 40), (2, 13, 72), (3, 9, 16), (4, 21, 577), (5, 8, 100), (8, 130, 576), (1, 3, 5), (7, 66, 1040)] {
            let x = rng.array(M * K), w = rng.array(N * K)
            var naive = [Float](repeating: 0, count: M * N), fast = [Float](repeating: .nan, count: M * N)
            matmulForwardNaive(&naive, x, w, nil, rows: M, inFeatures: K, outFeatures: N)
            XCTAssertEqual(csimd_sgemv(&fast, N, x, w, M, 0, N, K), N)
            assertWithinSummationBound(fast, naive, x: x, w: w, m: M, n: N, k: K, "M \(M) N \(N) K \(K)")
            let (n0, n1) = (N / 3, N - 1)
            var part = [Float](repeating: .nan, count: M * N)
            XCTAssertEqual(csimd_sgemv(&part, N, x, w, M, n0, n1, K), n1 - n0)
            let wrong = (0..<(M * N)).filter { e in
                (n0..<n1).contains(e % N) ? part[e] != fast[e] : !part[e].isNaN
            }
            XCTAssertEqual(wrong, [], "M \(M) N \(N) K \(K): rows [\(n0), \(n1)) alone")
        }
    }

    /// A sequence's product does not depend on how many decode beside it: at M = 1 (weight rows in memory
    /// order) each output equals bit for bit its row of the product with 1–4 other activation rows stacked
    /// (register blocks of 4 weight rows), for weight rows not a multiple of 4 and K with a partial last chunk.
    func testOneRowEqualsItsRowInABatch() throws {
        try XCTSkipUnless(csimd_avx512_available() != 0, "no AVX-512 on this CPU: the f32 GEMV does not run")
        var rng = SeededNormal(seed: 43)
        for (N, K) in [(37, 577), (130, 576), (5, 16), (9, 40), (66, 1040)] {
            let w = rng.array(N * K)
            for M in 2...5 {
                let x = rng.array(M * K)
                var all = [Float](repeating: .nan, count: M * N)
                XCTAssertEqual(csimd_sgemv(&all, N, x, w, M, 0, N, K), N)
                for i in 0..<M {
                    var one = [Float](repeating: .nan, count: N)
                    XCTAssertEqual(csimd_sgemv(&one, N, Array(x[(i * K)..<((i + 1) * K)]), w, 1, 0, N, K), N)
                    XCTAssertEqual(one, Array(all[(i * N)..<((i + 1) * N)]), "N \(N) K \(K): row \(i) of \(M) alone")
                }
            }
        }
    }

    /// Several outputs as one pool job: odd widths laid end to end (chunks straddle their boundaries),
    /// large enough for the pool to split, each output equal to the kernel on its own weight; and
    /// `matmulForward` at one row (bias added) equal to its twin.
    func testManyOutputsAndOneRowLinear() throws {
        try XCTSkipUnless(csimd_avx512_available() != 0, "no AVX-512 on this CPU: matmulForward takes OpenBLAS sgemv")
        var rng = SeededNormal(seed: 42)
        for (M, K, widths) in [(1, 577, [130, 7, 261]), (3, 96, [1, 50, 333]), (1, 576, [576, 192, 192])] {
            let x = rng.array(M * K), ws = widths.map { rng.array($0 * K) }
            let done = widths.map { UnsafeMutablePointer<Float>.allocate(capacity: M * $0) }
            defer { done.forEach { $0.deallocate() } }
            let ok = ws[0].withUnsafeBufferPointer { w0 in ws[1].withUnsafeBufferPointer { w1 in ws[2].withUnsafeBufferPointer { w2 in
                gemvForward([GemvOutput(y: done[0], weight: w0.baseAddress!, rows: widths[0]),
                             GemvOutput(y: done[1], weight: w1.baseAddress!, rows: widths[1]),
                             GemvOutput(y: done[2], weight: w2.baseAddress!, rows: widths[2])], x: x, m: M, k: K)
            } } }
            XCTAssertTrue(ok)
            for s in widths.indices {
                let y = Array(UnsafeBufferPointer(start: done[s], count: M * widths[s]))
                var alone = [Float](repeating: .nan, count: M * widths[s]), naive = alone
                _ = csimd_sgemv(&alone, widths[s], x, ws[s], M, 0, widths[s], K)
                XCTAssertEqual(y, alone, "output \(s) of \(widths) (M \(M), K \(K)) differs from the kernel on its own weight")
                matmulForwardNaive(&naive, x, ws[s], nil, rows: M, inFeatures: K, outFeatures: widths[s])
                assertWithinSummationBound(y, naive, x: x, w: ws[s], m: M, n: widths[s], k: K, "output \(s) of \(widths)")
            }
            let bias = rng.array(widths[2])
            var one = [Float](repeating: .nan, count: widths[2]), naive = one
            matmulForward(&one, x, ws[2], bias, rows: 1, inFeatures: K, outFeatures: widths[2])
            matmulForwardNaive(&naive, x, ws[2], bias, rows: 1, inFeatures: K, outFeatures: widths[2])
            assertClose(one, naive, atol: 1e-4, "matmulForward, one row of \(K), bias")
        }
    }
}
