import XCTest
import Kernels
import TestSupport

final class QuantizationKernelTests: XCTestCase {
    func quantize(_ w: [Float], blockSize: Int) -> (packed: [UInt8], absmax: [Float]) {
        var packed = [UInt8](repeating: 0, count: (w.count + 1) / 2)
        var absmax = [Float](repeating: 0, count: (w.count + blockSize - 1) / blockSize)
        nf4Quantize(packed: &packed, absmax: &absmax, input: w, count: w.count, blockSize: blockSize)
        return (packed, absmax)
    }

    /// ALGORITHMS.md §5.3 worked example (one block of 8 shown there; any block ≥ 8 gives the same).
    func testWorkedExampleCodesBytesAndDequant() {
        let w: [Float] = [0.5, -1.0, 0.03, 0.04, 2.0, -0.3, 0.0, 1.2]
        let x = w.map { $0 / 2 }
        XCTAssertEqual(x.map { NF4.code($0) }, [10, 2, 7, 7, 15, 5, 7, 13])
        let (packed, absmax) = quantize(w, blockSize: 32)
        XCTAssertEqual(packed, [0xA2, 0x77, 0xF5, 0x7D])
        XCTAssertEqual(absmax, [2.0])
        var out = [Float](repeating: 0, count: 8)
        nf4Dequantize(output: &out, packed: packed, absmax: absmax, count: 8, blockSize: 32)
        assertClose(out, [0.4922246, -1.0501461, 0, 0, 2.0, -0.3695469, 0, 1.125234], atol: 1e-6)
    }

    func testMidpointsAreTheSpecTable() {
        let spec: [Float] = [-0.8480964, -0.6106329, -0.4599953, -0.3396794, -0.2346074, -0.1379117, -0.0455250,
                             0.0397901, 0.1202553, 0.2035213, 0.2920138, 0.3893125, 0.5016634, 0.6427869, 0.8614784]
        assertClose(NF4.midpoints, spec, atol: 1e-7)
    }

    func testTieGoesToTheLowerCode() {
        for (k, m) in NF4.midpoints.enumerated() {
            XCTAssertEqual(NF4.code(m), UInt8(k), "exactly on midpoint \(k)")
            XCTAssertEqual(NF4.code(m.nextUp), UInt8(k + 1))
        }
    }

    func testFastQuantizeEqualsNaiveTwin() {
        var rng = SeededNormal(seed: 3)
        for (n, bs) in [(1, 32), (63, 64), (64, 64), (1001, 64), (4097, 128), (9000, 4096), (333, 32)] {
            var w = rng.array(n)
            if n > 100 { for i in 0..<64 { w[i] = 0 } }       // an all-zero block
            let fast = quantize(w, blockSize: bs)
            var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
            var absmax = [Float](repeating: 0, count: (n + bs - 1) / bs)
            nf4QuantizeNaive(packed: &packed, absmax: &absmax, input: w, count: n, blockSize: bs)
            XCTAssertEqual(fast.packed, packed, "n \(n) block \(bs)")
            XCTAssertEqual(fast.absmax, absmax, "n \(n) block \(bs)")
        }
    }

    func testParallelQuantizeEqualsSerial() {
        var rng = SeededNormal(seed: 4)
        let w = rng.array(1 << 20 | 37)
        let serial = quantize(w, blockSize: 64)
        var packed = [UInt8](repeating: 0, count: (w.count + 1) / 2)
        var absmax = [Float](repeating: 0, count: (w.count + 63) / 64)
        nf4QuantizeParallel(packed: &packed, absmax: &absmax, input: w, count: w.count, blockSize: 64)
        XCTAssertEqual(packed, serial.packed)
        XCTAssertEqual(absmax, serial.absmax)
    }

    func testDynamic8MatchesItsConstruction() {
        XCTAssertEqual(Dynamic8.values.count, 256)
        let built = Dynamic8.construct()
        XCTAssertEqual(built.count, 256)
        for (a, b) in zip(Dynamic8.values, built) { XCTAssertEqual(Double(a), b, accuracy: 2e-7 * max(abs(b), 1e-6)) }
        XCTAssertEqual(Dynamic8.values.first, -0.99296874)
        XCTAssertEqual(Dynamic8.values.last, 1.0)
    }

    func testDoubleQuantRoundTripErrorAndBitsPerWeight() {
        var rng = SeededNormal(seed: 5)
        let w = rng.array(64 * 1024)
        let q = w.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: [1024, 64], blockSize: 64, doubleQuant: true) }
        guard case let .double(dq) = q.absmax else { return XCTFail("expected double quantization") }
        let plain = w.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: [1024, 64], blockSize: 64, doubleQuant: false) }
        let exact = plain.blockAbsmax(), approx = dq.dequantized()
        for b in exact.indices {
            // DYNAMIC8's widest gap is 0.0140625 (linear part); half of it times the nested absmax bounds the error.
            XCTAssertLessThanOrEqual(abs(approx[b] - exact[b]), 0.0071 * dq.nestedAbsmax[b / 256] + 1e-6, "block \(b)")
        }
        XCTAssertEqual(plain.bitsPerWeight, 4.5, accuracy: 1e-9)
        let expected: Double = 4 + 8.0 / 64 + 32.0 / (64 * 256) + 32.0 / 65536   // codes, DQ codes, nested absmax, offset
        XCTAssertEqual(q.bitsPerWeight, expected, accuracy: 1e-9)
    }

    /// QLoRA's claim at the unit level: on N(0,1) blocks of 64, NF4 has lower MSE than int4 absmax.
    func testNF4BeatsInt4AbsmaxOnNormalData() {
        var rng = SeededNormal(seed: 6)
        let w = rng.array(64 * 4096)
        let q = w.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: [w.count], blockSize: 64, doubleQuant: false) }
        let nf4 = q.dequantized()
        var int4 = [Float](repeating: 0, count: w.count)
        for b in 0..<(w.count / 64) {
            let block = w[(b * 64)..<(b * 64 + 64)]
            let scale = block.map(abs).max()! / 7
            for i in block.indices { int4[i] = (w[i] / scale).rounded(.toNearestOrEven) * scale }
        }
        let mse = { (a: [Float]) -> Double in
            var total = 0.0
            for i in a.indices { let d = Double(a[i] - w[i]); total += d * d }
            return total / Double(a.count)
        }
        let nf4MSE = mse(nf4), int4MSE = mse(int4)
        XCTAssertLessThan(nf4MSE, int4MSE * 0.9, "NF4 \(nf4MSE) vs int4 \(int4MSE)")
    }

    func testInt8RowsFollowTheCompressedTensorsFormula() {
        let x: [Float] = [0.5, -1.0, 0.25, 2.55,   0, 0, 0, 0,   -3, 1, 1.5, 0.0117647]
        var q = [Int8](repeating: 0, count: 12), s = [Float](repeating: 0, count: 3)
        int8QuantizeRows(q: &q, scale: &s, x: x, rows: 3, cols: 4)
        XCTAssertEqual(s[0], 2.55 / 127.5)
        XCTAssertEqual(s[1], Float.ulpOfOne, "an all-zero row gets eps, not 0")
        XCTAssertEqual(s[2], 3 / 127.5)
        XCTAssertEqual(Array(q[0..<4]), [25, -50, 12, 127], "round half even; 2.55/s = 127.5 clamps to 127")
        XCTAssertEqual(Array(q[8..<12]), [-128, 42, 64, 0])
    }

    func testInt8MatmulEqualsNaiveAndW8A8IsCloseToFloat() {
        var rng = SeededNormal(seed: 7)
        let (M, N, K) = (5, 37, 100)
        let a = (0..<(M * K)).map { _ in Int8(truncatingIfNeeded: Int(rng.uniform() * 256) - 128) }
        let b = (0..<(N * K)).map { _ in Int8(truncatingIfNeeded: Int(rng.uniform() * 256) - 128) }
        var fast = [Int32](repeating: 0, count: M * N), naive = fast
        int8Matmul(out: &fast, a: a, b: b, m: M, n: N, k: K)
        int8MatmulNaive(out: &naive, a: a, b: b, m: M, n: N, k: K)
        XCTAssertEqual(fast, naive)

        let x = rng.array(M * K), w = rng.array(N * K)
        var wq = [Int8](repeating: 0, count: N * K), ws = [Float](repeating: 0, count: N)
        int8QuantizeRows(q: &wq, scale: &ws, x: w, rows: N, cols: K)
        var y = [Float](repeating: 0, count: M * N)
        w8a8LinearForward(y: &y, x: x, weight: wq, weightScale: ws, bias: nil, m: M, n: N, k: K)
        // Oracle: the same product on dequantized operands (x̂ per token, ŵ per channel) in Double.
        var xq = [Int8](repeating: 0, count: M * K), xs = [Float](repeating: 0, count: M)
        int8QuantizeRows(q: &xq, scale: &xs, x: x, rows: M, cols: K)
        var expected = [Float](repeating: 0, count: M * N)
        for i in 0..<M {
            for j in 0..<N {
                var acc = 0.0
                for p in 0..<K { acc += Double(xq[i * K + p]) * Double(wq[j * K + p]) }
                expected[i * N + j] = Float(acc * Double(xs[i]) * Double(ws[j]))
            }
        }
        assertClose(y, expected, atol: 1e-5, rtol: 1e-6)
    }

    /// Register blocks of every height 1…6 plus a remainder, weight rows not a multiple of 4, K with
    /// a tail past the last 64 columns, and the extreme codes (−128·−128 sums) stay exact in int32.
    func testInt8MatmulBlocksAndExtremesAreExact() {
        var rng = SeededNormal(seed: 23)
        for (M, N, K) in [(1, 9, 64), (13, 30, 200), (6, 7, 128), (17, 41, 1000)] {
            let a = (0..<(M * K)).map { _ in Int8(truncatingIfNeeded: Int(rng.uniform() * 256) - 128) }
            let b = (0..<(N * K)).map { _ in Int8(truncatingIfNeeded: Int(rng.uniform() * 256) - 128) }
            var fast = [Int32](repeating: 0, count: M * N), naive = fast
            int8Matmul(out: &fast, a: a, b: b, m: M, n: N, k: K)
            int8MatmulNaive(out: &naive, a: a, b: b, m: M, n: N, k: K)
            XCTAssertEqual(fast, naive, "M \(M) N \(N) K \(K)")
        }
        let (M, N, K) = (3, 5, 4096)
        let a = [Int8](repeating: -128, count: M * K), b = [Int8](repeating: -128, count: N * K)
        var out = [Int32](repeating: 0, count: M * N)
        int8Matmul(out: &out, a: a, b: b, m: M, n: N, k: K)
        XCTAssertEqual(out, [Int32](repeating: 128 * 128 * 4096, count: M * N))
    }

    func testNF4LinearTilesEqualNaive() {
        var rng = SeededNormal(seed: 8)
        let (M, N, K) = (3, 300, 96)     // row length not a multiple of the block: blocks straddle rows
        let w = rng.array(N * K), x = rng.array(M * K), bias = rng.array(N)
        let q = w.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: [N, K], blockSize: 64) }
        let matrix = NF4Matrix(q)
        var fast = [Float](repeating: 0, count: M * N), naive = fast
        nf4LinearForward(y: &fast, x: x, weight: matrix, bias: bias, m: M, tileRows: 64)
        nf4LinearNaive(y: &naive, x: x, weight: matrix, bias: bias, m: M)
        assertClose(fast, naive, atol: 1e-4, rtol: 1e-5)
        var rows = [Float](repeating: 0, count: N * K)
        matrix.dequantizeRows(0, N, into: &rows)
        XCTAssertEqual(rows, q.dequantized())
    }

    /// The fused AVX-512 kernel (every row-block size 1…6 and its remainders, weight rows not a
    /// multiple of 4, blocks smaller than, equal to and larger than a row) and the two-core tiled path
    /// both equal the naive oracle (M = 70: the panel kernel, and the tiled path with its 256-row tiles;
    /// M ≥ 256: the tiled path's f32 panel blocks, K = 100 a short column panel, K = 600 three); K not a multiple of 32 falls back to the tiled path.
    func testNF4FusedAndTiledPathsEqualNaive() {
        var rng = SeededNormal(seed: 21)
        for (M, N, K, blockSize) in [(1, 37, 96, 32), (7, 301, 64, 64), (13, 130, 96, 128), (4, 9, 320, 64), (3, 1000, 288, 64), (1, 1030, 576, 64), (5, 11, 100, 64), (70, 600, 96, 64), (259, 130, 100, 64), (257, 70, 600, 64)] {
            let w = rng.array(N * K), x = rng.array(M * K), bias = rng.array(N)
            let q = w.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: [N, K], blockSize: blockSize) }
            let matrix = NF4Matrix(q)
            var naive = [Float](repeating: 0, count: M * N), fused = naive, tiled = naive
            nf4LinearNaive(y: &naive, x: x, weight: matrix, bias: bias, m: M)
            nf4LinearForward(y: &fused, x: x, weight: matrix, bias: bias, m: M, fusedRows: .max)
            nf4LinearForward(y: &tiled, x: x, weight: matrix, bias: bias, m: M, tileRows: 48, fusedRows: 0)
            assertClose(fused, naive, atol: 1e-4, rtol: 1e-5, "fused M \(M) N \(N) K \(K) block \(blockSize)")
            assertClose(tiled, naive, atol: 1e-4, rtol: 1e-5, "tiled M \(M) N \(N) K \(K) block \(blockSize)")
        }
        print("NF4 fused kernel \(NF4Matrix.fusedKernelAvailable ? "ran (AVX-512)" : "unavailable: both runs took the tiled path")")
    }

    /// From `nf4GemmRows` activation rows the fused product dequantizes 64-row panels once and runs a
    /// 6 × 64 block (`nf4_gemm.c`): every row remainder 0…5 of the 6-row blocks, weight rows not a
    /// multiple of 64 or 16 (masked), K past one 256-column panel with a shorter last panel, blocks
    /// smaller than, equal to and larger than a row; both cores (products ≥ 2^18 multiply-adds).
    func testNF4PanelGemmEqualsNaive() {
        var rng = SeededNormal(seed: 29)
        let cases = [(nf4GemmRows, 37, 96, 128), (nf4GemmRows + 3, 200, 544, 64), (nf4GemmRows + 4, 64, 288, 32),
                     (nf4GemmRows + 5, 130, 320, 256), (nf4GemmRows + 7, 16, 64, 64), (nf4GemmRows + 8, 81, 800, 64)]
        for (M, N, K, blockSize) in cases {
            let w = rng.array(N * K), x = rng.array(M * K), bias = rng.array(N)
            let q = w.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: [N, K], blockSize: blockSize) }
            let matrix = NF4Matrix(q)
            var naive = [Float](repeating: 0, count: M * N), fast = naive
            nf4LinearNaive(y: &naive, x: x, weight: matrix, bias: bias, m: M)
            nf4LinearForward(y: &fast, x: x, weight: matrix, bias: bias, m: M)
            assertClose(fast, naive, atol: 1e-4, rtol: 1e-5, "panel gemm M \(M) N \(N) K \(K) block \(blockSize)")
        }
        print("NF4 panel kernel \(NF4Matrix.fusedKernelAvailable ? "ran (AVX-512)" : "unavailable: the tiled path ran")")
    }

    /// Both dequantizers (CSIMD's AVX2 byte loop + Swift tails) equal the element-by-element oracle,
    /// with blocks that start mid-byte (odd block size never occurs, but odd tensor lengths and
    /// rows that straddle blocks do).
    func testDequantizersEqualTheNaiveOracle() {
        var rng = SeededNormal(seed: 11)
        for (n, blockSize, rows) in [(4_099, 64, 1), (96 * 37, 64, 37), (70 * 9, 32, 9), (33, 64, 1)] {
            let w = rng.array(n)
            let q = w.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: [rows, n / rows], blockSize: blockSize) }
            let absmax = q.blockAbsmax()
            var naive = [Float](repeating: 0, count: n), fast = naive, tiles = naive
            nf4DequantizeNaive(output: &naive, packed: q.packed, absmax: absmax, count: n, blockSize: blockSize)
            nf4Dequantize(output: &fast, packed: q.packed, absmax: absmax, count: n, blockSize: blockSize)
            XCTAssertEqual(fast, naive, "nf4Dequantize, n \(n)")
            if rows > 1 {
                let matrix = NF4Matrix(q), cols = n / rows
                tiles.withUnsafeMutableBufferPointer { t in
                    matrix.dequantizeRows(0, 5, into: t.baseAddress!)
                    matrix.dequantizeRows(5, rows, into: t.baseAddress! + 5 * cols)
                }
                XCTAssertEqual(tiles, naive, "dequantizeRows, \(rows) × \(cols)")
            }
        }
    }
}
