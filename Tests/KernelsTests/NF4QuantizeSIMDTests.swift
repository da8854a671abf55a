import CSIMD
@testable import Kernels
import TestSupport
import XCTest

/// `nf4Quantize` runs CSIMD's AVX2 kernel on full blocks and the Swift loop on the rest; both must
/// equal `nf4QuantizeNaive` byte for byte. The CPU check is cached per process, so the Swift loop is
/// also called directly here (and `WHITTLE_NO_SIMD=1 make test` runs every NF4 test without SIMD).
final class NF4QuantizeSIMDTests: XCTestCase {
    typealias Quantizer = (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int, Int) -> Void

    static let paths: [(String, Quantizer)] = [
        ("nf4Quantize", { nf4Quantize(packed: $0, absmax: $1, input: $2, count: $3, blockSize: $4) }),
        ("nf4QuantizeScalar", { nf4QuantizeScalar(packed: $0, absmax: $1, input: $2, count: $3, blockSize: $4) }),
    ]

    func assertEqualsNaive(_ w: [Float], blockSize bs: Int, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let n = w.count
        var expectedPacked = [UInt8](repeating: 0, count: (n + 1) / 2)
        var expectedAbsmax = [Float](repeating: 0, count: (n + bs - 1) / bs)
        nf4QuantizeNaive(packed: &expectedPacked, absmax: &expectedAbsmax, input: w, count: n, blockSize: bs)
        for (name, quantize) in Self.paths {
            var packed = [UInt8](repeating: 0xEE, count: (n + 1) / 2)
            var absmax = [Float](repeating: .nan, count: (n + bs - 1) / bs)
            packed.withUnsafeMutableBufferPointer { p in
                absmax.withUnsafeMutableBufferPointer { a in
                    w.withUnsafeBufferPointer { quantize(p.baseAddress!, a.baseAddress!, $0.baseAddress!, n, bs) }
                }
            }
            if let k = packed.indices.first(where: { packed[$0] != expectedPacked[$0] }) {
                XCTFail("\(name), \(label): byte \(k) is \(packed[k]), naive \(expectedPacked[k]) (inputs \(w[2 * k]), \(2 * k + 1 < n ? w[2 * k + 1] : 0))",
                        file: file, line: line)
            }
            XCTAssertEqual(absmax.map(\.bitPattern), expectedAbsmax.map(\.bitPattern), "\(name), \(label): absmax", file: file, line: line)
        }
    }

    func testOddSizesZeroBlocksAndOutliersEqualNaive() {
        var rng = SeededNormal(seed: 11)
        for bs in NF4.validBlockSizes {
            for n in [1, 31, bs - 1, bs, bs + 1, 3 * bs + 17, 5 * bs] {
                var w = rng.array(n).map { $0 * 0.02 }
                if n >= 2 * bs { for i in bs..<(2 * bs) { w[i] = 0 } }                       // an all-zero block
                if n > 40 { w[n / 3] = 7.5; w[n / 2] = -1e4 }                                 // outliers
                assertEqualsNaive(w, blockSize: bs, "n \(n), block \(bs)")
            }
        }
    }

    /// Values that land exactly on each midpoint (absmax 1, so x = w) go to the lower code; one ulp
    /// above goes to the upper one. Also blocks below the 1e-38 divisor, signed zeros and NaNs.
    func testTiesTinyBlocksAndSignedZerosEqualNaive() {
        var w: [Float] = [1]
        for m in NF4.midpoints { w += [m, m.nextUp, m.nextDown] }
        w += [Float](repeating: -1, count: 64 - w.count % 64)
        let tiny: [Float] = (0..<64).map { Float(bitPattern: UInt32($0 * 1234567 % 8388607)) * ($0 % 2 == 0 ? 1 : -1) }   // subnormals
        let zeros: [Float] = (0..<64).map { $0 % 3 == 0 ? -0.0 : 0.0 }
        let huge: [Float] = (0..<64).map { Float($0 - 32) * 1e37 }
        let nan: [Float] = (0..<64).map { $0 % 9 == 4 ? .nan : Float($0) / 70 }   // NaN: skipped by absmax, code 0
        assertEqualsNaive(w + tiny + zeros + huge + nan, blockSize: 32, "edge values, block 32")
        assertEqualsNaive(w + tiny + zeros + huge + nan, blockSize: 64, "edge values, block 64")
    }

    func testLargeRandomTensorEqualsNaive() {
        var rng = SeededNormal(seed: 12)
        let w = rng.array(1 << 18 | 37).map { $0 * 0.05 }
        assertEqualsNaive(w, blockSize: 64, "2^18 + 37 values")
    }

    /// Where the CPU has AVX2, the kernel handles every full block (so the tests above exercised it).
    func testKernelHandlesAllFullBlocksWhenAvailable() throws {
        try XCTSkipIf(csimd_available() == 0, "no AVX2/F16C or WHITTLE_NO_SIMD set: only the Swift loop runs")
        let w = [Float](repeating: 0.5, count: 64 * 3 + 5)
        var packed = [UInt8](repeating: 0, count: w.count), absmax = [Float](repeating: 0, count: 4)
        let done = NF4.midpoints.withUnsafeBufferPointer { csimd_nf4_quantize(&packed, &absmax, w, w.count, 64, $0.baseAddress!, 1e-38) }
        XCTAssertEqual(done, 64 * 3)
        XCTAssertEqual(csimd_nf4_quantize(&packed, &absmax, w, w.count, 48, NF4.midpoints, 1e-38), 0, "block not a multiple of 32")
    }
}
