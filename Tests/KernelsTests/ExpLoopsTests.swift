import Foundation
import Kernels
import Tensors
import TestSupport
import XCTest

/// The SIMD exp loops (CSIMD exp_loops.c: SwiGLU, softmax rows, perplexity's log-sum-exp) against
/// Double twins, at every tail length of a 16-lane vector and at SmolLM2's vocabulary width.
final class ExpLoopsTests: XCTestCase {
    var rng = SeededGenerator(seed: 20)
    func random(_ n: Int, scale: Float) -> [Float] { (0..<n).map { _ in Float.random(in: -scale...scale, using: &rng) } }

    func testSwiGLUMatchesTheDoubleFormulaAtEveryTailLength() {
        for n in Array(1...40) + [1536 * 3 + 7] {
            let gate = random(n, scale: 12), up = random(n, scale: 3)
            var out = [Float](repeating: 0, count: n)
            swigluForward(&out, gate: gate, up: up, count: n)
            let want = (0..<n).map { Float(Double(gate[$0]) / (1 + exp(-Double(gate[$0]))) * Double(up[$0])) }
            assertClose(out, want, atol: 1e-6, rtol: 1e-6, "n \(n)")
        }
    }

    func testSoftmaxRowsMatchTheDoubleTwinIncludingMaskedEntries() {
        for l in Array(1...40) + [512, 49_152] {
            var x = random(3 * l, scale: 40)
            x[0] = -.infinity                                  // a masked key in row 0
            for j in 0..<l { x[2 * l + j] = -.infinity }       // row 2 fully masked
            var got = [Float](repeating: 0, count: 3 * l), want = got
            softmaxForward(&got, x, rows: 3, cols: l)
            softmaxForwardNaive(&want, x, rows: 3, cols: l)
            assertClose(got, want, atol: 1e-7, rtol: 1e-5, "cols \(l)")
            XCTAssertEqual(got[0], 0)
            XCTAssertEqual(Array(got[(2 * l)...]), [Float](repeating: 0, count: l))
        }
    }

    func testLogSumExpFastMatchesTheDoubleLogSumExp() {
        for v in Array(1...40) + [32_000, 49_152] {
            var x = random(v, scale: 30)
            if v > 3 { x[2] = -.infinity }
            let fast = x.withUnsafeBufferPointer { logSumExpFast($0.baseAddress!, cols: v) }
            let twin = x.withUnsafeBufferPointer { logSumExp($0.baseAddress!, cols: v) }
            XCTAssertEqual(fast, twin, accuracy: 1e-6 * max(1, abs(twin)), "cols \(v)")
        }
        // Edge rows (max −∞, +∞) fall back to the Double twin and give what it gives.
        var inf = random(20, scale: 1)
        inf[7] = .infinity
        for row in [[Float](repeating: -.infinity, count: 20), inf] {
            let fast = row.withUnsafeBufferPointer { logSumExpFast($0.baseAddress!, cols: 20) }
            let twin = row.withUnsafeBufferPointer { logSumExp($0.baseAddress!, cols: 20) }
            XCTAssertTrue(fast.isNaN == twin.isNaN && (fast.isNaN || fast == twin), "\(fast) vs \(twin)")
        }
    }
}
