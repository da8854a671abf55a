import Foundation
import Tensors
import XCTest
@testable import Kernels

/// `Quantizer`: each scheme's fast forward against its naive twin (bit for bit), the straight-through
/// mask, codes that dequantize to the forward exactly, and hand-computed ties and TWN thresholds.
final class FakeQuantizerTests: XCTestCase {
    static let quantizers: [Quantizer] = [
        .int8(.row), .int8(.tensor), .int8(.token, clip: 1.5),
        .uint8Asymmetric(), .uint8Asymmetric(.row), .uint8Asymmetric(clip: 2),
        .ternary(), .ternary(.row), .ternary(clip: 2.5), .ternary(.row, clip: 0.7),
        .symmetric(bits: 2), .symmetric(bits: 4, .row), .symmetric(bits: 8), .symmetric(bits: 8, .row, clip: 2.5),
        .symmetric(bits: 4, clip: 1),
        .nf4(blockSize: 32), .nf4(blockSize: 64, clip: 2),
    ]

    /// Seeded values in ±4 with exact zeros, an all-zero row and (scaled) half-integers that tie.
    static func sample(rows: Int, cols: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        var x = (0..<(rows * cols)).map { _ in Float.random(in: -4...4, using: &rng) }
        for i in stride(from: 0, to: x.count, by: 7) { x[i] = 0 }
        for i in stride(from: 3, to: x.count, by: 11) { x[i] = Float(Int.random(in: -8...8, using: &rng)) + 0.5 }
        if rows > 2 { for c in 0..<cols { x[cols + c] = 0 } }
        return x
    }

    static let shapes = [(5, 33), (4, 64), (1, 7), (3, 1), (6, 128)]

    func forward(_ q: Quantizer, _ x: [Float], _ rows: Int, _ cols: Int, naive: Bool = false) -> [Float] {
        var out = [Float](repeating: .nan, count: x.count)
        if naive { q.fakeQuantizeForwardNaive(&out, x, rows: rows, cols: cols) } else { q.fakeQuantizeForward(&out, x, rows: rows, cols: cols) }
        return out
    }

    func assertBitEqual(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        if let i = a.indices.first(where: { a[$0].bitPattern != b[$0].bitPattern }) {
            XCTFail("\(what): first difference at [\(i)]: \(a[i]) vs \(b[i]) (of \(a.count))", file: file, line: line)
        }
    }

    func testEveryQuantizerEqualsItsNaiveTwinBitForBit() {
        for (k, q) in Self.quantizers.enumerated() {
            for (rows, cols) in Self.shapes {
                let x = Self.sample(rows: rows, cols: cols, seed: UInt64(100 * k + rows))
                let fast = forward(q, x, rows, cols), naive = forward(q, x, rows, cols, naive: true)
                assertBitEqual(fast, naive, "\(q) on [\(rows), \(cols)]")
                XCTAssertFalse(fast.contains { $0.isNaN }, "\(q): NaN")
            }
        }
    }

    func testForwardMayWriteOverItsInput() {
        for q in Self.quantizers {
            let x = Self.sample(rows: 6, cols: 128, seed: 9)
            var y = x
            y.withUnsafeMutableBufferPointer { q.fakeQuantizeForward($0.baseAddress!, $0.baseAddress!, rows: 6, cols: 128) }
            assertBitEqual(y, forward(q, x, 6, 128), "\(q) in place")
        }
    }

    func testAllZeroInputGivesZerosNotNaN() {
        for q in Self.quantizers {
            let out = forward(q, [Float](repeating: 0, count: 12), 3, 4)
            XCTAssertEqual(out, [Float](repeating: 0, count: 12), "\(q)")
            assertBitEqual(out, forward(q, [Float](repeating: 0, count: 12), 3, 4, naive: true), "\(q) naive")
        }
    }

    /// Rows whose range makes the scale exactly 1, so x.5 values tie and must round to even.
    func testTiesRoundHalfToEven() {
        let halves: [Float] = [0.5, -0.5, 1.5, -2.5, 2.5, 3.5, 0]
        // int8: absmax 127.5 → s = 1; 127.5 clamps to 127.
        XCTAssertEqual(forward(.int8(.row), [127.5] + halves, 1, 8), [127, 0, 0, 2, -2, 2, 4, 0])
        // symmetric 4-bit: Q = 7, absmax 7 → s = 1; no −8 level.
        XCTAssertEqual(forward(.symmetric(bits: 4), [7, -7] + halves, 1, 9), [7, -7, 0, 0, 2, -2, 2, 4, 0])
        // symmetric 2-bit: Q = 1, absmax 1 → levels {−1, 0, 1}; ±0.5 ties to 0.
        XCTAssertEqual(forward(.symmetric(bits: 2, .row), [1, 0.5, -0.5, -0.9, 0.2, -1], 2, 3), [1, 0, 0, -1, 0, -1])
        // uint8 asymmetric: [−100, 155] → Δ = 1, z = 100; round(2.5) = 2.
        XCTAssertEqual(forward(.uint8Asymmetric(), [-100, 155, 2.5, -3.5, 0.5, -0.5], 1, 6), [-100, 155, 2, -4, 0, 0])
        for q in [Quantizer.int8(.row), .symmetric(bits: 4), .symmetric(bits: 8, .row), .uint8Asymmetric()] {
            let x: [Float] = [127.5, -100, 155, 7, -7] + halves
            assertBitEqual(forward(q, x, 1, x.count), forward(q, x, 1, x.count, naive: true), "\(q) ties")
        }
    }

    /// The clip is applied before the range: 8-bit symmetric with clip 2.5 has s = 2.5/127.
    func testClipBoundsTheRangeAndTheValues() {
        let out = forward(.symmetric(bits: 8, clip: 2.5), [10, -3, 1.25, 0], 1, 4)
        let s: Float = 2.5 / 127
        XCTAssertEqual(out, [127 * s, -127 * s, Float(Int((1.25 / s).rounded(.toNearestOrEven))) * s, 0])
        assertBitEqual(forward(.int8(.tensor, clip: 1), [5, -5, 0.5, 0], 2, 2), forward(.int8(.tensor), [1, -1, 0.5, 0], 2, 2), "clip = clamp first")
        assertBitEqual(forward(.nf4(blockSize: 32, clip: 1), [5, -5, 0.5, 0], 2, 2), [1, -1, forward(.nf4(blockSize: 32), [1, 0.5], 1, 2)[1], 0], "nf4 clip")
    }

    func testTernaryThresholdAndAlphaOnAHandComputedExample() {
        let w: [Float] = [0.1, -0.8, 0.4, 1.5,
                          0, -0.3, 0.2, 0.05]
        // Layer-wise: Σ|w| = 3.35, Δ = 0.7 · 3.35/8 = 0.293125; kept 0.8, 0.4, 1.5, 0.3 → α = 0.75.
        XCTAssertEqual(ternaryThreshold(w, count: 8), 0.293125, accuracy: 1e-7)
        let tensor = Quantizer.ternary().quantize(w, rows: 2, cols: 4)
        XCTAssertEqual(tensor.scales, [0.75])
        XCTAssertEqual(tensor.codes, [0, -1, 1, 1, 0, -1, 0, 0])
        XCTAssertEqual(forward(.ternary(), w, 2, 4), [0, -0.75, 0.75, 0.75, 0, -0.75, 0, 0])
        // Row-wise: row 0 Δ = 0.49 → α = (0.8 + 1.5)/2 = 1.15; row 1 Δ = 0.09625 → α = (0.3 + 0.2)/2 = 0.25.
        XCTAssertEqual(ternaryThreshold(w, count: 4), 0.49, accuracy: 1e-7)
        XCTAssertEqual(ternaryThreshold(Array(w[4...]), count: 4), 0.09625, accuracy: 1e-7)
        let rows = Quantizer.ternary(.row).quantize(w, rows: 2, cols: 4)
        XCTAssertEqual(rows.scales[0], 1.15, accuracy: 1e-6)
        XCTAssertEqual(rows.scales[1], 0.25, accuracy: 1e-6)
        XCTAssertEqual(rows.codes, [0, -1, 0, 1, 0, -1, 1, 0])
        // Clipped at 0.5 first: Σ = 2.05, Δ = 0.179375; kept 0.5, 0.4, 0.5, 0.3, 0.2 → α = 0.38.
        let clipped = Quantizer.ternary(clip: 0.5).quantize(w, rows: 2, cols: 4)
        XCTAssertEqual(clipped.scales[0], 0.38, accuracy: 1e-6)
        XCTAssertEqual(clipped.codes, [0, -1, 1, 1, 0, -1, 1, 0])
    }

    func testCodesDequantizeToTheForwardBitForBit() {
        for (k, q) in Self.quantizers.enumerated() {
            for (rows, cols) in Self.shapes {
                let x = Self.sample(rows: rows, cols: cols, seed: UInt64(7 * k + cols))
                let codes = q.quantize(x, rows: rows, cols: cols)
                assertBitEqual(codes.dequantized(), forward(q, x, rows, cols), "\(q) on [\(rows), \(cols)]")
                let range: ClosedRange<Int32>
                switch q.scheme {
                case .int8: range = -128...127
                case .uint8Asymmetric: range = 0...255
                case .ternary: range = -1...1
                case .symmetric: range = -Int32((1 << (q.bits - 1)) - 1)...Int32((1 << (q.bits - 1)) - 1)
                case .nf4: range = 0...15
                }
                XCTAssertTrue(codes.codes.allSatisfy(range.contains), "\(q): codes outside \(range)")
                XCTAssertEqual(codes.scales.count, (rows * cols + codes.groupLength - 1) / codes.groupLength, "\(q) groups")
            }
        }
    }

    /// The int8 quantizer is the exporter's row quantizer (`int8QuantizeRows`, AVX2 + tail) and its dequantizer.
    func testInt8QuantizerIsTheExportersRowQuantizer() {
        let (rows, cols) = (6, 77)
        let x = Self.sample(rows: rows, cols: cols, seed: 3)
        var q = [Int8](repeating: 0, count: rows * cols), s = [Float](repeating: 0, count: rows)
        int8QuantizeRows(q: &q, scale: &s, x: x, rows: rows, cols: cols)
        var exported = [Float](repeating: 0, count: rows * cols)
        int8DequantizeRows(output: &exported, q: q, scale: s, rows: rows, cols: cols)
        let codes = Quantizer.int8(.row).quantize(x, rows: rows, cols: cols)
        XCTAssertEqual(codes.codes, q.map(Int32.init))
        XCTAssertEqual(codes.scales, s)
        assertBitEqual(forward(.int8(.row), x, rows, cols), exported, "int8 fake quant vs exported")
        XCTAssertEqual(s[1], Float.ulpOfOne, "an all-zero row gets eps")
        for i in 0..<(rows * cols) { XCTAssertEqual(int8FakeQuantize(x[i], scale: s[i / cols]).bitPattern, exported[i].bitPattern, "[\(i)]") }
    }

    func testBackwardAccumulatesOnlyInsideTheClip() {
        let inp: [Float] = [-3, -2.5, -2.4999998, 0, 1, 2.5, 2.6, -0.0]
        let dout: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        for (q, mask) in [(Quantizer.ternary(clip: 2.5), [false, false, true, true, true, false, false, true]),
                          (Quantizer.symmetric(bits: 8, clip: 2.5), [false, false, true, true, true, false, false, true]),
                          (Quantizer.int8(.row), [Bool](repeating: true, count: 8)),
                          (Quantizer.nf4(blockSize: 32), [Bool](repeating: true, count: 8))] {
            var dinp = [Float](repeating: 0.5, count: 8), naive = dinp
            q.fakeQuantizeBackward(dinp: &dinp, dout: dout, inp: inp, rows: 2, cols: 4)
            q.fakeQuantizeBackwardNaive(dinp: &naive, dout: dout, inp: inp, rows: 2, cols: 4)
            XCTAssertEqual(dinp, (0..<8).map { mask[$0] ? 0.5 + dout[$0] : 0.5 }, "\(q)")
            XCTAssertEqual(dinp, naive, "\(q) naive")
        }
        // Random data: fast and naive masks agree exactly.
        let x = Self.sample(rows: 6, cols: 128, seed: 5)
        var rng = SeededGenerator(seed: 6)
        let d = (0..<x.count).map { _ in Float.random(in: -1...1, using: &rng) }
        for q in Self.quantizers {
            var a = [Float](repeating: 0, count: x.count), b = a
            q.fakeQuantizeBackward(dinp: &a, dout: d, inp: x, rows: 6, cols: 128)
            q.fakeQuantizeBackwardNaive(dinp: &b, dout: d, inp: x, rows: 6, cols: 128)
            XCTAssertEqual(a, b, "\(q)")
        }
    }

    func testQuantizerDecodesWithDefaultsAndRejectsBadValues() throws {
        let decoded = try JSONDecoder().decode(Quantizer.self, from: Data(#"{"scheme": "symmetric", "bits": 4, "granularity": "row", "clip": 2.5}"#.utf8))
        XCTAssertEqual(decoded, .symmetric(bits: 4, .row, clip: 2.5))
        XCTAssertEqual(try JSONDecoder().decode(Quantizer.self, from: Data(#"{"scheme": "ternary"}"#.utf8)), .ternary())
        for q in Self.quantizers {
            XCTAssertEqual(try JSONDecoder().decode(Quantizer.self, from: try JSONEncoder().encode(q)), q)
        }
        for bad in [#"{"scheme": "symmetric", "bits": 9}"#, #"{"scheme": "ternary", "bits": 4}"#,
                    #"{"scheme": "int8", "clip": -1}"#, #"{"scheme": "nf4", "block_size": 48}"#] {
            XCTAssertThrowsError(try JSONDecoder().decode(Quantizer.self, from: Data(bad.utf8)), bad)
        }
        XCTAssertThrowsError(try Quantizer.symmetric(bits: 1).validate())
    }

    func testLogSoftmaxEqualsItsNaiveTwin() {
        var rng = SeededGenerator(seed: 11)
        let (rows, cols) = (7, 301)
        var x = (0..<(rows * cols)).map { _ in Float.random(in: -30...30, using: &rng) }
        x[5] = -Float.infinity
        x[cols] = 1e4
        var fast = [Double](repeating: 0, count: x.count), naive = fast
        logSoftmaxForward(&fast, x, rows: rows, cols: cols)
        logSoftmaxForwardNaive(&naive, x, rows: rows, cols: cols)
        XCTAssertEqual(fast[5], -Double.infinity)
        for i in x.indices where i != 5 { XCTAssertEqual(fast[i], naive[i], accuracy: 1e-12 * max(1, abs(naive[i])), "[\(i)]") }
        for r in 0..<rows {
            XCTAssertEqual((0..<cols).reduce(0.0) { $0 + exp(fast[r * cols + $1]) }, 1, accuracy: 1e-12, "row \(r)")
            XCTAssertEqual(x.withUnsafeBufferPointer { Double(x[r * cols + 3]) - logSumExp($0.baseAddress! + r * cols, cols: cols) },
                           fast[r * cols + 3])
        }
    }
}
