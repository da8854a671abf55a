import XCTest
import CSIMD
import Kernels
import Tensors
import TestSupport

/// `halfLinearForward` (CSIMD half_matmul.c's AVX-512 and AVX2 kernels, the widened-tiles path) against
/// its naive twin `halfLinearNaive`. The widening is held bit-exact (one-hot activations pick single
/// weights out); sums may differ from the twin's in order only, so they are held to the rounding bound
/// of a K-term f32 dot product: |fast − naive| ≤ 2·K·ε·Σ_k |x_k·w_k| (+1e-30 for all-zero rows).
final class HalfMatmulTests: XCTestCase {
    /// A `HalfMatrix` of seeded normal values rounded to `dtype`, plus a few exact edge codes
    /// (subnormals, −0, the largest finite values) in the first row.
    func matrix(_ rng: inout SeededNormal, rows: Int, cols: Int, dtype: DType) -> HalfMatrix {
        var codes = (0..<(rows * cols)).map { _ -> UInt16 in
            let v = rng.next()
            return dtype == .F16 ? DTypeConversion.floatToFloat16(v) : DTypeConversion.floatToBFloat16(v)
        }
        let edges: [UInt16] = dtype == .F16 ? [0x0001, 0x83FF, 0x8000, 0x7BFF, 0xFBFF] : [0x0001, 0x807F, 0x8000, 0x5F80, 0x3F80]
        for (i, e) in edges.enumerated() where i < codes.count { codes[i] = e }
        let tensor = codes.withUnsafeBytes { Tensor(dtype: dtype, shape: [rows, cols], bytes: $0) }
        return HalfMatrix(tensor)
    }

    func widened(_ m: HalfMatrix) -> [Float] {
        (0..<(m.rows * m.cols)).map { i in
            m.dtype == .F16 ? DTypeConversion.float16ToFloat(m.values[i]) : Float(bitPattern: UInt32(m.values[i]) << 16)
        }
    }

    /// Shapes: every register-block height 1…4 and their remainders (M up to 8 = `pooledRows`), weight
    /// rows not a multiple of 4, K below, at and past 16 with partial last chunks; the last two are
    /// large enough for the pool (pool.c) to split the rows over the cores.
    let shapes = [(1, 37, 40), (2, 13, 72), (3, 9, 16), (4, 21, 577), (5, 8, 100), (8, 130, 576), (1, 1030, 576), (7, 260, 1040), (1, 3, 5)]

    func testRegisterKernelEqualsNaive() throws {
        try XCTSkipUnless(HalfMatrix.kernelAvailable, "no AVX2 + F16C on this CPU: the register kernel does not run (the tiled path is tested below)")
        var rng = SeededNormal(seed: 31)
        for dtype in [DType.BF16, .F16] {
            for (M, N, K) in shapes {
                let w = matrix(&rng, rows: N, cols: K, dtype: dtype), x = rng.array(M * K), bias = rng.array(N)
                var naive = [Float](repeating: 0, count: M * N), fast = naive, avx2 = naive
                halfLinearNaive(y: &naive, x: x, weight: w, bias: bias, m: M)
                halfLinearForward(y: &fast, x: x, weight: w, bias: bias, m: M)
                assertWithinSummationBound(fast, naive, x: x, w: widened(w), m: M, n: N, k: K, "\(dtype) M \(M) N \(N) K \(K)")
                // The AVX2 kernel on its own (the one that runs without AVX-512), no bias.
                halfLinearNaive(y: &naive, x: x, weight: w, bias: nil, m: M)
                XCTAssertEqual(x.withUnsafeBufferPointer { csimd_half_matmul_avx2(&avx2, N, $0.baseAddress!, w.values, M, 0, N, K, dtype == .F16 ? CSIMD_HALF_F16 : CSIMD_HALF_BF16) }, N)
                assertWithinSummationBound(avx2, naive, x: x, w: widened(w), m: M, n: N, k: K, "AVX2 \(dtype) M \(M) N \(N) K \(K)")
            }
        }
    }

    /// Several weights on the same x as one pool job (`halfLinearsForward`: odd widths end to end, so
    /// chunks straddle their boundaries, large enough to split): each output equals `halfLinearForward` on
    /// its own weight bit for bit (the same kernel on the same rows) and the naive twin within the bound;
    /// mixed dtypes or more than `pooledRows` rows are refused without writing.
    func testManyWeightsAsOneJob() throws {
        try XCTSkipUnless(HalfMatrix.kernelAvailable, "no AVX2 + F16C on this CPU")
        var rng = SeededNormal(seed: 33)
        for dtype in [DType.BF16, .F16] {
            for (M, K, widths) in [(1, 577, [130, 7, 261]), (3, 96, [1, 50, 333]), (1, 576, [576, 192, 192]), (8, 40, [5, 1030])] {
                let x = rng.array(M * K), ws = widths.map { matrix(&rng, rows: $0, cols: K, dtype: dtype) }
                let ys = widths.map { UnsafeMutablePointer<Float>.allocate(capacity: M * $0) }
                defer { ys.forEach { $0.deallocate() } }
                XCTAssertTrue(halfLinearsForward(ys, x: x, weights: ws, m: M))
                for s in widths.indices {
                    let y = Array(UnsafeBufferPointer(start: ys[s], count: M * widths[s]))
                    var alone = [Float](repeating: .nan, count: M * widths[s]), naive = alone
                    halfLinearForward(y: &alone, x: x, weight: ws[s], bias: nil, m: M)
                    XCTAssertEqual(y, alone, "\(dtype) output \(s) of \(widths) (M \(M), K \(K)) differs from the weight on its own")
                    halfLinearNaive(y: &naive, x: x, weight: ws[s], bias: nil, m: M)
                    assertWithinSummationBound(y, naive, x: x, w: widened(ws[s]), m: M, n: widths[s], k: K, "\(dtype) output \(s) of \(widths)")
                }
            }
        }
        let bf = matrix(&rng, rows: 4, cols: 8, dtype: .BF16), f16 = matrix(&rng, rows: 4, cols: 8, dtype: .F16)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: 9 * 8)
        defer { y.deallocate() }
        XCTAssertFalse(halfLinearsForward([y, y + 36], x: rng.array(8), weights: [bf, f16], m: 1), "mixed dtypes")
        XCTAssertFalse(halfLinearsForward([y, y + 36], x: rng.array(9 * 8), weights: [bf, bf], m: 9), "more than pooledRows rows")
    }

    /// Above `fusedRows` (and without the kernel) every core widens tiles of weight rows and runs sgemm.
    func testWidenedTilesEqualNaive() {
        var rng = SeededNormal(seed: 32)
        for dtype in [DType.BF16, .F16] {
            for (M, N, K, tile) in [(9, 70, 40, 16), (1, 33, 577, 8), (70, 300, 96, 64)] {
                let w = matrix(&rng, rows: N, cols: K, dtype: dtype), x = rng.array(M * K), bias = rng.array(N)
                var naive = [Float](repeating: 0, count: M * N), tiled = naive
                halfLinearNaive(y: &naive, x: x, weight: w, bias: bias, m: M)
                halfLinearForward(y: &tiled, x: x, weight: w, bias: bias, m: M, tileRows: tile, fusedRows: 0)
                assertWithinSummationBound(tiled, naive, x: x, w: widened(w), m: M, n: N, k: K, "tiles \(dtype) M \(M) N \(N) K \(K)")
            }
        }
    }

    /// One-hot activation rows pick single weights out: every finite BF16 and F16 code (subnormals, −0,
    /// the extremes) comes out of the kernels exactly as its scalar widening.
    func testWideningIsExactForEveryFiniteCode() throws {
        try XCTSkipUnless(HalfMatrix.kernelAvailable, "no AVX2 + F16C on this CPU")
        let K = 16, N = 65536 / K
        var x = [Float](repeating: 0, count: K * K)
        for i in 0..<K { x[i * K + i] = 1 }
        for dtype in [DType.BF16, .F16] {
            let codes = (0..<65536).map { c -> UInt16 in
                let v = UInt16(c)
                let finite = dtype == .F16 ? DTypeConversion.float16ToFloat(v).isFinite : Float(bitPattern: UInt32(v) << 16).isFinite
                return finite ? v : 0
            }
            let w = HalfMatrix(codes.withUnsafeBytes { Tensor(dtype: dtype, shape: [N, K], bytes: $0) })
            let expected = widened(w)
            for path in ["avx512-or-avx2", "avx2"] {
                var y = [Float](repeating: .nan, count: K * N)
                if path == "avx2" {
                    _ = x.withUnsafeBufferPointer { csimd_half_matmul_avx2(&y, N, $0.baseAddress!, w.values, K, 0, N, K, dtype == .F16 ? CSIMD_HALF_F16 : CSIMD_HALF_BF16) }
                } else {
                    halfLinearForward(y: &y, x: x, weight: w, bias: nil, m: K, fusedRows: K)
                }
                var wrong = 0
                for i in 0..<K { for j in 0..<N where y[i * N + j] != expected[j * K + i] { wrong += 1 } }
                XCTAssertEqual(wrong, 0, "\(dtype) \(path): \(wrong) codes widened wrongly")
            }
        }
    }
}
