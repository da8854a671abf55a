import XCTest
import Foundation
import Kernels
import TestSupport

/// Gated attention kernels (ALGORITHMS.md §3.2) against finite differences of Float64 twins, and
/// the clipped softmax's α parametrisation and exact 0 / 1 (§3.1).
final class AttentionGateKernelTests: XCTestCase {
    var fd = FiniteDifference(seed: 43)

    func testGroupedLinearBackward() {
        let n = 3, g = 2, i = 4, o = 3
        let x = fd.randoms(n * g * i), wt = fd.randoms(g * o * i), b = fd.randoms(g * o), w = fd.randoms(n * g * o)
        var y = [Float](repeating: 0, count: n * g * o)
        groupedLinearForward(&y, x, weight: wt, bias: b, rows: n, groups: g, inFeatures: i, outFeatures: o)
        var dx = [Float](repeating: 0, count: x.count), dw = [Float](repeating: 0, count: wt.count), db = [Float](repeating: 0, count: b.count)
        groupedLinearBackward(dx: &dx, dweight: &dw, dbias: &db, dout: w, x: x, weight: wt, rows: n, groups: g, inFeatures: i, outFeatures: o)
        let f: ([[Double]]) -> [Double] = { a in
            (0..<(n * g * o)).map { idx in
                let r = idx / (g * o), gg = (idx % (g * o)) / o, oo = idx % o
                return a[2][gg * o + oo] + (0..<i).reduce(0.0) { $0 + a[0][r * g * i + gg * i + $1] * a[1][(gg * o + oo) * i + $1] }
            }
        }
        assertClose(y, f([x, wt, b].map { $0.map(Double.init) }).map(Float.init), atol: 1e-5, "forward")
        assertClose(dx, fd.numericalGradient([x, wt, b], which: 0, w: w, f), atol: 1e-4, rtol: 1e-3, "dx")
        assertClose(dw, fd.numericalGradient([x, wt, b], which: 1, w: w, f), atol: 1e-4, rtol: 1e-3, "dweight")
        assertClose(db, fd.numericalGradient([x, wt, b], which: 2, w: w, f), atol: 1e-4, rtol: 1e-3, "dbias")
    }

    /// Per token (R = N), per sequence (R = B) and per head (R = 1), with the fine-tuning factor.
    func testGateHeadsBackward() {
        let n = 6, h = 2, hd = 3, factor: Float = 4
        for r in [6, 2, 1] {
            let x = fd.randoms(n * h * hd), logits = fd.randoms(r * h, scale: 2), w = fd.randoms(n * h * hd)
            var y = [Float](repeating: 0, count: x.count)
            gateHeadsForward(&y, x, logits: logits, rows: n, logitRows: r, heads: h, headDim: hd, factor: factor)
            var dx = [Float](repeating: 0, count: x.count), dl = [Float](repeating: 0, count: logits.count)
            gateHeadsBackward(dx: &dx, dlogits: &dl, dout: w, x: x, logits: logits, rows: n, logitRows: r, heads: h, headDim: hd, factor: factor)
            let f: ([[Double]]) -> [Double] = { a in
                (0..<(n * h * hd)).map { idx in
                    let row = idx / (h * hd), head = (idx % (h * hd)) / hd
                    return Double(factor) / (1 + exp(-a[1][(row / (n / r)) * h + head])) * a[0][idx]
                }
            }
            assertClose(y, f([x, logits].map { $0.map(Double.init) }).map(Float.init), atol: 1e-5, "forward R=\(r)")
            assertClose(dx, fd.numericalGradient([x, logits], which: 0, w: w, f), atol: 1e-4, rtol: 1e-3, "dx R=\(r)")
            assertClose(dl, fd.numericalGradient([x, logits], which: 1, w: w, f), atol: 1e-4, rtol: 1e-3, "dlogits R=\(r)")
        }
    }

    func testTokenMeanBackward() {
        let b = 2, t = 3, c = 2
        let x = fd.randoms(b * t * c), w = fd.randoms(b * c)
        var y = [Float](repeating: 0, count: b * c), dx = [Float](repeating: 0, count: x.count)
        tokenMeanForward(&y, x, batch: b, seqLen: t, channels: c)
        tokenMeanBackward(&dx, dout: w, batch: b, seqLen: t, channels: c)
        let f: ([[Double]]) -> [Double] = { a in
            (0..<(b * c)).map { i in (0..<t).reduce(0.0) { $0 + a[0][((i / c) * t + $1) * c + i % c] } / Double(t) }
        }
        assertClose(y, f([x.map(Double.init)]).map(Float.init), atol: 1e-6, "forward")
        assertClose(dx, fd.numericalGradient([x], which: 0, w: w, f), atol: 1e-4, rtol: 1e-3, "dx")
    }

    /// γ = −α / T_max, ζ = 1 (§3.1; the OPT script: α = 12, block size 512).
    func testClippedSoftmaxAlphaParametrisation() {
        XCTAssertEqual(AttentionVariant.clippedSoftmax(alpha: 12, maxSeqLength: 512), .clippedSoftmax(gamma: -0.0234375, zeta: 1))
        XCTAssertEqual(AttentionVariant.clippedSoftmax(alpha: 4, maxSeqLength: 128), .clippedSoftmax(gamma: -0.03125, zeta: 1))
    }

    /// Exact zeros for finite scores (γ < 0) and exact ones (ζ > 1, or the α form's ζ = 1 with one
    /// dominant key), where softmax gives neither; gradients vanish there.
    func testClippedSoftmaxReachesExactZeroAndOne() {
        let t = 4
        let scores: [Float] = [0, 0.5, 1, 9,       // one dominant key
                               1, 1, 1, 1]          // uniform
        var soft = [Float](repeating: 0, count: scores.count)
        attentionNormaliseForward(&soft, softmaxOut: nil, scores: scores, variant: .standard, rows: 2, seqLen: t)
        XCTAssertFalse(soft.contains(0) || soft.contains(1), "softmax never gives exact 0 or 1 here: \(soft)")

        var alpha = [Float](repeating: 0, count: scores.count), kept = alpha
        attentionNormaliseForward(&alpha, softmaxOut: &kept, scores: scores, variant: .clippedSoftmax(alpha: 12, maxSeqLength: 8), rows: 2, seqLen: t)
        XCTAssertEqual(Array(alpha[0..<3]), [0, 0, 0], "γ = −1.5: small probabilities clip to exact 0")
        XCTAssertEqual(alpha[4..<8].filter { $0 == 0 }.count, 4, "uniform 0.25 < 1.5/2.5: all exact 0 (the head does nothing)")

        var bert = [Float](repeating: 0, count: scores.count)
        attentionNormaliseForward(&bert, softmaxOut: nil, scores: scores, variant: .clippedSoftmax(gamma: -0.03, zeta: 1.03), rows: 2, seqLen: t)
        XCTAssertEqual(bert[3], 1, "ζ > 1: the dominant key gets exactly 1")
        XCTAssertEqual(Array(bert[0..<3]), [0, 0, 0])

        var dscores = [Float](repeating: 0, count: scores.count)
        attentionNormaliseBackward(&dscores, dprobs: [Float](repeating: 1, count: scores.count), softmaxOut: kept,
                                   variant: .clippedSoftmax(alpha: 12, maxSeqLength: 8), rows: 2, seqLen: t)
        XCTAssertEqual(Array(dscores[4..<8]), [0, 0, 0, 0], "no gradient through clipped entries")
    }
}
