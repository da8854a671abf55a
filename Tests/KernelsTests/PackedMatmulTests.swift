import CSIMD
@testable import Kernels
import Tensors
import TestSupport
import XCTest

/// The packed low-bit layout and the ternary / 2-bit matmul (ALGORITHMS.md §4): the bytes and the
/// int32 products against a numpy restatement (fixtures/quant/packed_codes.json from
/// tools/reference/packed_codes.py), every kernel path (AVX2, VNNI rows, VNNI tiles, the dispatcher, the
/// Swift loop) against the naive twin bit for bit on seeded inputs, the kernel's activation codes against
/// the quantizer's, and the linear against the fake-quant forward it stands for.
final class PackedMatmulTests: XCTestCase {
    func testLayoutAndProductMatchNumpy() throws {
        let path = try Fixtures.required("quant/packed_codes.json", regenerate: "/root/venv/bin/python tools/reference/packed_codes.py")
        let cases = try XCTUnwrap((try Fixtures.readJSON(path) as? [String: Any])?["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 3)
        for c in cases {
            let bits = c["bits"] as! Int, rows = c["rows"] as! Int, cols = c["cols"] as! Int, m = c["m"] as! Int
            let codes = (c["codes"] as! [Int]).map(Int32.init)
            let packed = codes.withUnsafeBufferPointer { PackedCodes(bits: bits, rows: rows, cols: cols, codes: $0) }
            XCTAssertEqual(packed.bytes.map(Int.init), c["bytes"] as! [Int], "\(bits)-bit [\(rows), \(cols)] bytes")
            XCTAssertEqual(packed.codes(), codes, "\(bits)-bit round trip")
            guard bits == 2 else { continue }
            let kp = PackedCodes.paddedColumns(bits: 2, cols: cols)
            let a = c["a"] as! [Int]
            var padded = [Int8](repeating: 0, count: m * kp)
            for i in 0..<m { for p in 0..<cols { padded[i * kp + p] = Int8(a[i * cols + p]) } }
            var out = [Int32](repeating: 0, count: m * rows), naive = out
            packed2Matmul(out: &out, a: padded, weight: packed, m: m)
            packed2MatmulNaive(out: &naive, a: padded, weight: packed, m: m)
            XCTAssertEqual(out.map(Int.init), c["product"] as! [Int], "kernel [\(m), \(cols)] × [\(rows), \(cols)]ᵀ")
            XCTAssertEqual(naive.map(Int.init), c["product"] as! [Int], "naive twin")
        }
    }

    /// Every path against the naive twin, exact int32 sums, on seeded inputs over shapes that hit every
    /// edge: weight rows not a multiple of 4 (VNNI rows' blocks) or 2 (AVX2), an odd number of 128-column
    /// groups (VNNI rows' 256-bit tail), columns not a multiple of 128, M on both sides of
    /// CSIMD_PACKED2_TILE_M and not a multiple of 4 or 6, more weight rows than one VNNI tile (Kp = 1536:
    /// 128 rows), activations at −128 and 127, and raw weight bytes so the field 0 (code −2) occurs too.
    func testEveryKernelPathEqualsNaiveTwinBitForBit() {
        var rng = SeededGenerator(seed: 15)
        XCTAssertEqual(csimd_available(), 1, "this machine has AVX2: the AVX2 path is under test")
        let vnni = csimd_vnni_available() == 1
        if !vnni { print("PackedMatmulTests: no AVX-512 VNNI on this CPU, its two paths are not tested") }
        let tileM = Int(CSIMD_PACKED2_TILE_M)
        for (n, k, m) in [(1, 1, 1), (3, 127, 1), (7, 128, 4), (9, 300, 5), (32, 384, 9), (5, 1536, 2), (6, 640, 3),
                          (13, 260, tileM - 1), (10, 520, tileM), (130, 1500, tileM + 1), (33, 200, 2 * tileM + 3)] {
            let kp = PackedCodes.paddedColumns(bits: 2, cols: k)
            let rb = PackedCodes.rowBytes(bits: 2, cols: k)
            let w = PackedCodes(bits: 2, rows: n, cols: k, bytes: (0..<(n * rb)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            var a = [Int8](repeating: 0, count: m * kp)
            for i in 0..<m { for p in 0..<k { a[i * kp + p] = Int8.random(in: -128...127, using: &rng) } }
            a[0] = 127; a[k - 1] = -128
            var naive = [Int32](repeating: 0, count: m * n)
            packed2MatmulNaive(out: &naive, a: a, weight: w, m: m)
            typealias Path = (UnsafeMutablePointer<Int32>?, Int, UnsafePointer<Int8>?, UnsafePointer<UInt8>?, Int, Int, Int) -> Int
            var paths: [(String, Path)] = [("AVX2", csimd_packed2_matmul_avx2), ("dispatch", csimd_packed2_matmul)]
            if vnni { paths += [("VNNI rows", csimd_packed2_matmul_vnni_rows), ("VNNI tiles", csimd_packed2_matmul_vnni_tiles)] }
            for (name, path) in paths {
                var out = [Int32](repeating: 0x5555, count: m * n)
                XCTAssertEqual(path(&out, n, a, w.bytes, m, n, kp), n, "\(name) rows done")
                XCTAssertEqual(out, naive, "\(name) vs naive twin, N=\(n) K=\(k) M=\(m)")
            }
            var fast = [Int32](repeating: 0, count: m * n), scalar = fast
            packed2Matmul(out: &fast, a: a, weight: w, m: m)
            let asum = (0..<m).map { i in (0..<kp).reduce(Int32(0)) { $0 + Int32(a[i * kp + $1]) } }
            packed2MatmulScalar(out: &scalar, ldo: n, a: a, asum: asum, w: w.bytes, m: m, n: n, kp: kp)
            XCTAssertEqual(fast, naive, "packed2Matmul vs naive twin, N=\(n) K=\(k) M=\(m)")
            XCTAssertEqual(scalar, naive, "Swift scalar path vs naive twin, N=\(n) K=\(k) M=\(m)")
        }
    }

    /// The kernel's activation codes (CSIMD's quantizer and its Swift tail) equal `Quantizer.quantize`'s
    /// (the fake-quant forward's) for the schemes and granularities a packed linear can have, with and
    /// without a clip, a zero row, and lengths that are not a multiple of 8.
    func testActivationCodesEqualTheQuantizers() {
        var rng = SeededGenerator(seed: 21)
        let (m, k) = (5, 203), kp = PackedCodes.paddedColumns(bits: 2, cols: k)
        var x = (0..<(m * k)).map { _ in Float.random(in: -4...4, using: &rng) }
        for p in 0..<k { x[2 * k + p] = 0 }
        x[7] = 2.5; x[8] = -2.5; x[9] = 1e-3
        for q in [Quantizer.symmetric(bits: 8, .tensor, clip: 2.5), .symmetric(bits: 8, .token, clip: 2.5), .symmetric(bits: 4, .row),
                  .int8(.row), .int8(.tensor, clip: 3)] {
            let (codes, scales) = quantizeActivations(x, m: m, k: k, kp: kp, quantizer: q)
            let ref = q.quantize(x, rows: m, cols: k)
            for i in 0..<m {
                XCTAssertEqual(scales[i], ref.scales[q.granularity == .tensor ? 0 : i], "\(q) row \(i) scale")
                XCTAssertEqual(codes[(i * kp)..<(i * kp + k)].map(Int32.init), Array(ref.codes[(i * k)..<(i * k + k)]), "\(q) row \(i) codes")
                XCTAssertEqual(codes[(i * kp + k)..<(i * kp + kp)].filter { $0 != 0 }.count, 0, "\(q) row \(i) padding")
            }
        }
    }

    func testFourBitRoundTripAndPadding() {
        var rng = SeededGenerator(seed: 4)
        let codes = (0..<(3 * 65)).map { _ in Int32.random(in: -7...7, using: &rng) }
        let p = codes.withUnsafeBufferPointer { PackedCodes(bits: 4, rows: 3, cols: 65, codes: $0) }
        XCTAssertEqual(p.rowBytes, 64, "65 columns take two 64-column groups")
        XCTAssertEqual(p.codes(), codes)
        // Padding columns hold the zero code (8 in each nibble).
        XCTAssertEqual(p.bytes[32 + 1], 0x88)
        XCTAssertEqual(p.dequantized(scales: [0.5, 1, 2])[65 + 3], Float(codes[65 + 3]))
    }

    /// The packed linear computes the fake-quant linear: sgemm on x̂ = s_x·q_x and Ŵ = α·c, up to the
    /// order of the float sums (the kernel's integer sum is exact, then scaled once).
    func testPackedLinearMatchesTheFakeQuantLinear() {
        var rng = SeededGenerator(seed: 7)
        let (m, n, k) = (6, 20, 200)
        let w = (0..<(n * k)).map { _ in Float.random(in: -0.2...0.2, using: &rng) }
        let x = (0..<(m * k)).map { _ in Float.random(in: -3...3, using: &rng) }
        let bias = (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
        let wq = Quantizer.ternary(.tensor, clip: 2.5), aq = Quantizer.symmetric(bits: 8, .tensor, clip: 2.5)
        let codes = wq.quantize(w, rows: n, cols: k)
        let packed = codes.codes.withUnsafeBufferPointer { PackedCodes(bits: 2, rows: n, cols: k, codes: $0) }
        var y = [Float](repeating: 0, count: m * n)
        packed2LinearForward(y: &y, x: x, weight: packed, scale: codes.scales[0], activations: aq, bias: bias, m: m)
        var xh = x, wh = w, ref = [Float](repeating: 0, count: m * n)
        aq.fakeQuantizeForward(&xh, x, rows: m, cols: k)
        wq.fakeQuantizeForward(&wh, w, rows: n, cols: k)
        matmulForwardNaive(&ref, xh, wh, bias, rows: m, inFeatures: k, outFeatures: n)
        assertClose(y, ref, atol: 1e-5, rtol: 1e-5, "packed linear vs fake-quant linear")
    }
}
