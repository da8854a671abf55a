import Tensors
import TestSupport
import XCTest
@testable import Kernels

/// `int8QuantizeRows` (CSIMD's AVX2 row loop + Swift tail) and `int8SquaredError` against plain
/// scalar loops written from the formulas, on rows of ragged lengths with ties, clamping and zeros.
final class Int8QuantizeSIMDTests: XCTestCase {
    func testRowsEqualTheScalarFormulaIncludingTiesAndClamping() {
        var rng = seededGenerator(101)
        for cols in [1, 7, 8, 9, 31, 64, 333] {
            let rows = 5
            var x = (0..<(rows * cols)).map { _ in Float.random(in: -3...3, using: &rng) }
            x[0] = 0
            if cols > 3 {
                x[1] = 3; x[2] = -3   // the row's extremes: exactly ±127.5 · scale → ties at the ends
                x[3] = 3 * (2.5 / 127.5)   // a tie at 2.5 → 2 (half to even), up to rounding of the quotient
            }
            var q = [Int8](repeating: 0, count: rows * cols), scale = [Float](repeating: 0, count: rows)
            int8QuantizeRows(q: &q, scale: &scale, x: x, rows: rows, cols: cols)
            for r in 0..<rows {
                var m: Float = 0
                for c in 0..<cols { m = max(m, abs(x[r * cols + c])) }
                let s = m / 127.5 == 0 ? Float.ulpOfOne : m / 127.5
                XCTAssertEqual(scale[r], s, "row \(r) of \(cols)")
                for c in 0..<cols {
                    let expected = Int8(min(max(x[r * cols + c] / s, -128), 127).rounded(.toNearestOrEven))
                    XCTAssertEqual(q[r * cols + c], expected, "row \(r), column \(c) of \(cols): \(x[r * cols + c])")
                }
            }
        }
    }

    func testSquaredErrorEqualsTheDoubleLoop() {
        var rng = seededGenerator(102)
        for cols in [3, 8, 17, 1000] {
            let x = (0..<cols).map { _ in Float.random(in: -1...1, using: &rng) }
            let q = (0..<cols).map { _ in Int8.random(in: -128...127, using: &rng) }
            let s: Float = 0.0079
            var num = 0.0, den = 0.0
            for c in 0..<cols {
                let w = Double(x[c]), d = w - Double(Float(q[c]) * s)
                num += d * d; den += w * w
            }
            let (n, d) = int8SquaredError(x: x, q: q, scale: s, count: cols)
            XCTAssertEqual(n, num, accuracy: num * 1e-12, "\(cols)")
            XCTAssertEqual(d, den, accuracy: den * 1e-12, "\(cols)")
        }
    }
}
