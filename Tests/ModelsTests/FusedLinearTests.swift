import CSIMD
import Kernels
@testable import Models
import TestSupport
import Tensors
import XCTest

/// `fusedLinearForward`, the decode step's q, k, v (gate, up) as one product: each output equals the
/// layer's own `forward` bit for bit (same kernel on the same rows), biases included; shapes and layer
/// kinds it cannot fuse return nil (the executor then runs the layers one by one). Greedy tokens through
/// the fused path are held to transformers' in HalfWeightsTests and to the full forward in KVCacheTests.
final class FusedLinearTests: XCTestCase {
    var rng = SeededNormal(seed: 51)
    func values(_ n: Int) -> [Float] { rng.array(n) }

    func half(_ rows: Int, _ cols: Int, dtype: DType, bias: Bool) -> HalfLinear {
        let codes = values(rows * cols).map { dtype == .F16 ? DTypeConversion.floatToFloat16($0) : DTypeConversion.floatToBFloat16($0) }
        let tensor = codes.withUnsafeBytes { Tensor(dtype: dtype, shape: [rows, cols], bytes: $0) }
        return HalfLinear(tensor, bias: bias ? values(rows) : nil)
    }

    func float(_ rows: Int, _ cols: Int, bias: Bool) -> Linear {
        Linear(weight: values(rows * cols), bias: bias ? values(rows) : nil, inFeatures: cols, outFeatures: rows)
    }

    func nf4(_ rows: Int, _ cols: Int, blockSize: Int = 64, bias: Bool) -> NF4Linear {
        let w = values(rows * cols)
        let tensor = w.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: [rows, cols], blockSize: blockSize) }
        return NF4Linear(weight: NF4Matrix(tensor), bias: bias ? values(rows) : nil)
    }

    func assertEachEqualsItsLayer(_ layers: [any LinearLayer], rows m: Int, _ what: String) {
        let x = values(m * layers[0].inFeatures)
        guard let fused = fusedLinearForward(layers, x, rows: m) else { return XCTFail("\(what): not fused") }
        XCTAssertEqual(fused.count, layers.count, what)
        for (s, l) in layers.enumerated() { XCTAssertEqual(fused[s], l(x, rows: m), "\(what): output \(s)") }
    }

    func testEachOutputEqualsItsLayer() throws {
        try XCTSkipUnless(HalfMatrix.kernelAvailable, "no AVX2 + F16C on this CPU: nothing is fused")
        if csimd_avx512_available() != 0 {   // the f32 GEMV (gemv.c) is AVX-512 only
            assertEachEqualsItsLayer([float(130, 577, bias: true), float(7, 577, bias: false), float(261, 577, bias: true)], rows: 1, "f32, one row")
            for m in [2, 5, gemvRows] {   // a KV-cache forward's few rows: the GEMV's row blocks, each output `Linear.fewRows`'s
                let layers = [float(130, 577, bias: true), float(7, 577, bias: false), float(261, 577, bias: true)], x = values(m * 577)
                guard let fused = fusedLinearForward(layers, x, rows: m, fewRowGemv: true) else { return XCTFail("f32, \(m) rows: not fused") }
                for (s, l) in layers.enumerated() { XCTAssertEqual(fused[s], l.fewRows(x, rows: m), "f32, \(m) rows: output \(s)") }
                XCTAssertNil(fusedLinearForward(layers, x, rows: m), "f32, \(m) rows without fewRowGemv: one by one")
            }
        }
        if csimd_avx512_available() != 0 {   // the NF4 kernel (nf4_matmul.c) is AVX-512 only; widths 576 and 96 step 64 columns, 608 and 32 step 32
            for (k, bs) in [(576, 64), (608, 64), (96, 32), (576, 128)] {
                assertEachEqualsItsLayer([nf4(130, k, blockSize: bs, bias: true), nf4(7, k, blockSize: bs, bias: false),
                                          nf4(261, k, blockSize: bs, bias: true)], rows: 1, "NF4 K \(k) block \(bs), one row")
                assertEachEqualsItsLayer([nf4(66, k, blockSize: bs, bias: false), nf4(9, k, blockSize: bs, bias: true)], rows: pooledRows,
                                         "NF4 K \(k) block \(bs), \(pooledRows) rows")
            }
        }
        for dtype in [DType.BF16, .F16] {
            assertEachEqualsItsLayer([half(576, 96, dtype: dtype, bias: false), half(192, 96, dtype: dtype, bias: true),
                                      half(193, 96, dtype: dtype, bias: true)], rows: 3, "\(dtype), three rows")
            assertEachEqualsItsLayer([half(1030, 40, dtype: dtype, bias: false), half(5, 40, dtype: dtype, bias: false)], rows: 1, "\(dtype), one row")
        }
    }

    /// `Linear.fewRows` (≤ `gemvRows` rows: the GEMV's row blocks, a KV-cache forward's) against the naive product, bias included.
    func testFewRowLinearEqualsNaive() throws {
        try XCTSkipUnless(csimd_avx512_available() != 0, "no AVX-512: the layer keeps OpenBLAS")
        for (m, n, k) in [(2, 37, 40), (5, 130, 577), (gemvRows, 66, 96)] {
            let w = values(n * k), b = values(n), x = values(m * k)
            let plain = Linear(weight: w, bias: nil, inFeatures: k, outFeatures: n), biased = Linear(weight: w, bias: b, inFeatures: k, outFeatures: n)
            var naive = [Float](repeating: 0, count: m * n)
            matmulForwardNaive(&naive, x, w, nil, rows: m, inFeatures: k, outFeatures: n)
            guard let fast = plain.fewRows(x, rows: m) else { return XCTFail("M \(m): the GEMV declined") }
            assertWithinSummationBound(fast, naive, x: x, w: w, m: m, n: n, k: k, "M \(m) N \(n) K \(k)")
            XCTAssertEqual(biased.fewRows(x, rows: m), fast.enumerated().map { $0.element + b[$0.offset % n] }, "M \(m): the bias on every row")
        }
    }

    func testWhatItCannotFuseIsLeftToTheLayers() {
        let x = values(2 * 64)
        XCTAssertNil(fusedLinearForward([float(8, 64, bias: false), float(8, 64, bias: false)], x, rows: 2), "f32 at two rows")
        XCTAssertNil(fusedLinearForward([float(8, 64, bias: false), float(8, 64, bias: false)], values((gemvRows + 1) * 64), rows: gemvRows + 1, fewRowGemv: true),
                     "f32 at more than gemvRows rows, below the panel GEMM's")
        XCTAssertNil(fusedLinearForward([half(8, 64, dtype: .BF16, bias: false), float(8, 64, bias: false)], Array(x[0..<64]), rows: 1), "mixed kinds")
        XCTAssertNil(fusedLinearForward([half(8, 64, dtype: .BF16, bias: false), half(8, 64, dtype: .F16, bias: false)], Array(x[0..<64]), rows: 1), "mixed dtypes")
        XCTAssertNil(fusedLinearForward([half(8, 64, dtype: .BF16, bias: false), half(8, 32, dtype: .BF16, bias: false)], Array(x[0..<64]), rows: 1), "mixed widths")
        XCTAssertNil(fusedLinearForward([half(8, 8, dtype: .BF16, bias: false)], values(9 * 8), rows: 9), "more than pooledRows rows")
        XCTAssertNil(fusedLinearForward([nf4(8, 64, bias: false), nf4(8, 64, bias: false)], values((pooledRows + 1) * 64), rows: pooledRows + 1),
                     "NF4 at more than pooledRows rows")
        XCTAssertNil(fusedLinearForward([nf4(8, 64, blockSize: 64, bias: false), nf4(8, 64, blockSize: 32, bias: false)], Array(x[0..<64]), rows: 1),
                     "NF4 with mixed block sizes")
    }
}
