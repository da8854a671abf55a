@testable import Kernels
import TestSupport
import XCTest

/// `int8Matmul` (CSIMD's register-blocked AVX2 kernel, then the Swift loop for the last K mod 16
/// columns) and its Swift twin alone both equal `int8MatmulNaive` exactly: odd M and N (block edges),
/// K below, at and off multiples of 16, and the extreme products −128 · −128.
final class Int8MatmulSIMDTests: XCTestCase {
    func testFastAndScalarEqualNaiveOnBlockEdgesAndExtremes() {
        var rng = SeededNormal(seed: 31)
        for (M, N, K) in [(1, 1, 1), (1, 5, 15), (2, 4, 16), (3, 7, 17), (5, 9, 100), (16, 130, 2048), (7, 3, 47)] {
            var a = (0..<(M * K)).map { _ in Int8(truncatingIfNeeded: Int(rng.uniform() * 256) - 128) }
            var b = (0..<(N * K)).map { _ in Int8(truncatingIfNeeded: Int(rng.uniform() * 256) - 128) }
            if K >= 16 { for p in 0..<K { a[p] = -128; b[p] = p % 2 == 0 ? -128 : 127 } }   // row 0: largest sums
            var naive = [Int32](repeating: 0, count: M * N), fast = naive, scalar = naive
            int8MatmulNaive(out: &naive, a: a, b: b, m: M, n: N, k: K)
            int8Matmul(out: &fast, a: a, b: b, m: M, n: N, k: K)
            int8MatmulScalar(out: &scalar, ldo: N, a: a, b: b, m: M, n: N, k: K, from: 0)
            XCTAssertEqual(fast, naive, "M \(M) N \(N) K \(K)")
            XCTAssertEqual(scalar, naive, "M \(M) N \(N) K \(K), Swift loop")
        }
    }

    /// Products large enough to be split over the cores by CSIMD's pool (pool.c): decode-sized rows (M = 1),
    /// weight-row counts that do not divide into the pool's chunks of 4, K off multiples of 64 (the Swift
    /// tail), on 1 and 2 threads — all equal the naive product exactly.
    func testSplitProductsEqualNaiveOnEveryThreadCount() {
        var rng = SeededNormal(seed: 33)
        let saved = Threads.count
        defer { Threads.set(saved) }
        for (M, N, K) in [(1, 600, 640), (1, 517, 700), (1, 49, 6000), (3, 1030, 576), (40, 261, 1100)] {
            let a = (0..<(M * K)).map { _ in Int8(truncatingIfNeeded: Int(rng.uniform() * 256) - 128) }
            let b = (0..<(N * K)).map { _ in Int8(truncatingIfNeeded: Int(rng.uniform() * 256) - 128) }
            var naive = [Int32](repeating: 0, count: M * N)
            int8MatmulNaive(out: &naive, a: a, b: b, m: M, n: N, k: K)
            for threads in [1, 2] {
                Threads.set(threads)
                var fast = [Int32](repeating: -1, count: M * N)
                int8Matmul(out: &fast, a: a, b: b, m: M, n: N, k: K)
                XCTAssertEqual(fast, naive, "M \(M) N \(N) K \(K), \(threads) threads")
            }
        }
    }
}
