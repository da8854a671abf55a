import XCTest
import Foundation
import Kernels
import TestSupport

/// Every backward kernel against central finite differences of a Float64 twin of its forward
/// (loss `L = Σ w·out` with random `w`; step 1e-6 in Float64, so the check is exact to ~1e-8).
final class BackwardFiniteDifferenceTests: XCTestCase {
    var fd = FiniteDifference(seed: 42)
    func randoms(_ n: Int, scale: Float = 1) -> [Float] { fd.randoms(n, scale: scale) }
    func numericalGradient(_ inputs: [[Float]], which: Int, w: [Float], _ f: ([[Double]]) -> [Double]) -> [Float] {
        fd.numericalGradient(inputs, which: which, w: w, f)
    }

    // MARK: matmul
    func testMatmulBackward() {
        let n = 5, c = 4, oc = 3
        let x = randoms(n * c), wt = randoms(oc * c), bias = randoms(oc), w = randoms(n * oc)
        var dx = [Float](repeating: 0, count: n * c), dw = [Float](repeating: 0, count: oc * c), db = [Float](repeating: 0, count: oc)
        matmulBackward(dinp: &dx, dweight: &dw, dbias: &db, dout: w, inp: x, weight: wt, rows: n, inFeatures: c, outFeatures: oc)
        let f: ([[Double]]) -> [Double] = { a in
            (0..<(n * oc)).map { i in
                let r = i / oc, o = i % oc
                return a[2][o] + (0..<c).reduce(0.0) { $0 + a[0][r * c + $1] * a[1][o * c + $1] }
            }
        }
        assertClose(dx, numericalGradient([x, wt, bias], which: 0, w: w, f), atol: 1e-4, rtol: 1e-3, "dinp")
        assertClose(dw, numericalGradient([x, wt, bias], which: 1, w: w, f), atol: 1e-4, rtol: 1e-3, "dweight")
        assertClose(db, numericalGradient([x, wt, bias], which: 2, w: w, f), atol: 1e-4, rtol: 1e-3, "dbias")
    }

    // MARK: norms
    func testLayerNormBackward() {
        let n = 4, c = 6, eps: Float = 1e-5
        let x = randoms(n * c), g = randoms(c), b = randoms(c), w = randoms(n * c)
        var out = [Float](repeating: 0, count: n * c), mean = [Float](repeating: 0, count: n), rstd = mean
        layerNormForward(&out, mean: &mean, rstd: &rstd, x, weight: g, bias: b, rows: n, channels: c, eps: eps)
        var dx = [Float](repeating: 0, count: n * c), dg = [Float](repeating: 0, count: c), db = dg
        layerNormBackward(dinp: &dx, dweight: &dg, dbias: &db, dout: w, inp: x, weight: g, mean: mean, rstd: rstd, rows: n, channels: c)
        let f: ([[Double]]) -> [Double] = { a in
            var y = [Double](repeating: 0, count: n * c)
            for r in 0..<n {
                let row = Array(a[0][(r * c)..<((r + 1) * c)])
                let m = row.reduce(0, +) / Double(c)
                let v = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(c)
                for i in 0..<c { y[r * c + i] = (row[i] - m) / (v + Double(eps)).squareRoot() * a[1][i] + a[2][i] }
            }
            return y
        }
        assertClose(dx, numericalGradient([x, g, b], which: 0, w: w, f), atol: 1e-4, rtol: 1e-3, "dinp")
        assertClose(dg, numericalGradient([x, g, b], which: 1, w: w, f), atol: 1e-4, rtol: 1e-3, "dweight")
        assertClose(db, numericalGradient([x, g, b], which: 2, w: w, f), atol: 1e-4, rtol: 1e-3, "dbias")
    }

    func testRMSNormBackward() {
        let n = 4, c = 6, eps: Float = 1e-6
        let x = randoms(n * c), g = randoms(c), w = randoms(n * c)
        var out = [Float](repeating: 0, count: n * c), rstd = [Float](repeating: 0, count: n)
        rmsNormForward(&out, rstd: &rstd, x, weight: g, rows: n, channels: c, eps: eps)
        var dx = [Float](repeating: 0, count: n * c), dg = [Float](repeating: 0, count: c)
        rmsNormBackward(dinp: &dx, dweight: &dg, dout: w, inp: x, weight: g, rstd: rstd, rows: n, channels: c)
        let f: ([[Double]]) -> [Double] = { a in
            var y = [Double](repeating: 0, count: n * c)
            for r in 0..<n {
                let ss = (0..<c).reduce(0.0) { $0 + a[0][r * c + $1] * a[0][r * c + $1] }
                let s = 1 / (ss / Double(c) + Double(eps)).squareRoot()
                for i in 0..<c { y[r * c + i] = a[0][r * c + i] * s * a[1][i] }
            }
            return y
        }
        assertClose(dx, numericalGradient([x, g], which: 0, w: w, f), atol: 1e-4, rtol: 1e-3, "dinp")
        assertClose(dg, numericalGradient([x, g], which: 1, w: w, f), atol: 1e-4, rtol: 1e-3, "dweight")
    }

    // MARK: activations
    func checkUnary(_ name: String, backward: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Void,
                    _ f: @escaping (Double) -> Double) {
        let x = randoms(32, scale: 2), w = randoms(32)
        var dx = [Float](repeating: 0, count: 32)
        backward(&dx, w, x, 32)
        assertClose(dx, numericalGradient([x], which: 0, w: w) { $0[0].map(f) }, atol: 1e-4, rtol: 1e-3, name)
    }

    func testActivationBackwards() {
        checkUnary("gelu erf", backward: { geluErfBackward($0, dout: $1, inp: $2, count: $3) }) { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
        checkUnary("gelu tanh", backward: { geluTanhBackward($0, dout: $1, inp: $2, count: $3) }) {
            0.5 * $0 * (1 + tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0)))
        }
        checkUnary("silu", backward: { siluBackward($0, dout: $1, inp: $2, count: $3) }) { $0 / (1 + exp(-$0)) }
        checkUnary("relu", backward: { reluBackward($0, dout: $1, inp: $2, count: $3) }) { max($0, 0) }
        // tanh backward takes the forward output.
        let x = randoms(16), w = randoms(16)
        var y = [Float](repeating: 0, count: 16), dx = y
        tanhForward(&y, x, count: 16)
        tanhBackward(&dx, dout: w, out: y, count: 16)
        assertClose(dx, numericalGradient([x], which: 0, w: w) { $0[0].map(tanh) }, atol: 1e-4, rtol: 1e-3, "tanh")
    }

    func testSwiGLUAndScaleColumnsBackward() {
        let n = 24
        let g = randoms(n, scale: 2), u = randoms(n), w = randoms(n)
        var dg = [Float](repeating: 0, count: n), du = dg
        swigluBackward(dgate: &dg, dup: &du, dout: w, gate: g, up: u, count: n)
        let f: ([[Double]]) -> [Double] = { a in (0..<n).map { a[0][$0] / (1 + exp(-a[0][$0])) * a[1][$0] } }
        assertClose(dg, numericalGradient([g, u], which: 0, w: w, f), atol: 1e-4, rtol: 1e-3, "dgate")
        assertClose(du, numericalGradient([g, u], which: 1, w: w, f), atol: 1e-4, rtol: 1e-3, "dup")

        let rows = 3, cols = 5
        let x = randoms(rows * cols), s = randoms(cols), w2 = randoms(rows * cols)
        var dx = [Float](repeating: 0, count: rows * cols), ds = [Float](repeating: 0, count: cols)
        scaleColumnsBackward(dinp: &dx, dscale: &ds, dout: w2, inp: x, scale: s, rows: rows, cols: cols)
        let fs: ([[Double]]) -> [Double] = { a in (0..<(rows * cols)).map { a[0][$0] * a[1][$0 % cols] } }
        assertClose(dx, numericalGradient([x, s], which: 0, w: w2, fs), atol: 1e-4, rtol: 1e-3, "scale dinp")
        assertClose(ds, numericalGradient([x, s], which: 1, w: w2, fs), atol: 1e-4, rtol: 1e-3, "dscale")
    }

    // MARK: softmax
    static func softmaxD(_ x: [Double]) -> [Double] {
        let m = x.max()!
        if m == -.infinity { return x.map { _ in 0 } }
        let e = x.map { exp($0 - m) }, s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    func testSoftmaxAndClippedSoftmaxBackward() {
        let n = 3, l = 7
        let x = randoms(n * l, scale: 2), w = randoms(n * l)
        var p = [Float](repeating: 0, count: n * l), dx = p
        softmaxForward(&p, x, rows: n, cols: l)
        softmaxBackward(&dx, dout: w, out: p, rows: n, cols: l)
        let f: ([[Double]]) -> [Double] = { a in (0..<n).flatMap { r in Self.softmaxD(Array(a[0][(r * l)..<((r + 1) * l)])) } }
        assertClose(dx, numericalGradient([x], which: 0, w: w, f), atol: 1e-4, rtol: 1e-3, "softmax")

        // Clipped softmax: chain clipSoftmaxBackward then softmaxBackward; some entries are clipped.
        let gamma: Float = -0.1, zeta: Float = 1.1
        var dp = [Float](repeating: 0, count: n * l), dx2 = dp
        clipSoftmaxBackward(&dp, dout: w, probs: p, count: n * l, gamma: gamma, zeta: zeta)
        softmaxBackward(&dx2, dout: dp, out: p, rows: n, cols: l)
        let fc: ([[Double]]) -> [Double] = { a in f(a).map { min(max(Double(zeta - gamma) * $0 + Double(gamma), 0), 1) } }
        XCTAssertTrue(p.contains { (zeta - gamma) * $0 + gamma < 0 }, "the case must exercise the clipped region")
        assertClose(dx2, numericalGradient([x], which: 0, w: w, fc), atol: 1e-4, rtol: 1e-3, "clipped softmax")
    }

    // MARK: rotary
    func testRotaryBackward() {
        let n = 3, h = 2, hd = 4, half = hd / 2
        let (cosT, sinT) = rotaryTables(positions: [0, 1, 2], inverseFrequencies: [1, 0.1])
        let x = randoms(n * h * hd), w = randoms(n * h * hd)
        var dx = w
        rotaryBackward(&dx, cos: cosT, sin: sinT, rows: n, heads: h, headDim: hd)
        let f: ([[Double]]) -> [Double] = { a in
            var y = a[0]
            for r in 0..<n { for head in 0..<h { for i in 0..<half {
                let o = r * h * hd + head * hd, c = Double(cosT[r * half + i]), s = Double(sinT[r * half + i])
                let x1 = a[0][o + i], x2 = a[0][o + i + half]
                y[o + i] = x1 * c - x2 * s; y[o + i + half] = x2 * c + x1 * s
            } } }
            return y
        }
        assertClose(dx, numericalGradient([x], which: 0, w: w, f), atol: 1e-4, rtol: 1e-3, "rotary")
    }

    // MARK: attention
    func attentionD(_ q: [Double], _ k: [Double], _ v: [Double], hm: [Double]?, b: Int, t: Int, nh: Int, nkv: Int, hd: Int,
                    scale: Double, causal: Bool, pad: [Float]?, clip: (Double, Double)?, window: Int? = nil) -> [Double] {
        var out = [Double](repeating: 0, count: b * t * nh * hd)
        let group = nh / nkv
        for bi in 0..<b { for h in 0..<nh { for i in 0..<t {
            var s = [Double](repeating: -.infinity, count: t)
            for j in 0..<t where !(causal && j > i) && (pad?[bi * t + j] ?? 1) != 0 && j > i - (window ?? t + 1) {
                s[j] = scale * (0..<hd).reduce(0.0) { $0 + q[(bi * t + i) * nh * hd + h * hd + $1] * k[(bi * t + j) * nkv * hd + (h / group) * hd + $1] }
            }
            var p = Self.softmaxD(s)
            if let (gamma, zeta) = clip { p = p.map { min(max((zeta - gamma) * $0 + gamma, 0), 1) } }
            let m = hm?[h] ?? 1
            for d in 0..<hd {
                out[(bi * t + i) * nh * hd + h * hd + d] = m * (0..<t).reduce(0.0) { $0 + p[$1] * v[(bi * t + $1) * nkv * hd + (h / group) * hd + d] }
            }
        } } }
        return out
    }

    func checkAttention(causal: Bool, padded: Bool, clipped: Bool, headMask: Bool, nh: Int, nkv: Int, window: Int? = nil) {
        let b = 2, t = 4, hd = 3, scale: Float = 0.6
        let q = randoms(b * t * nh * hd), k = randoms(b * t * nkv * hd), v = randoms(b * t * nkv * hd)
        let hm: [Float]? = headMask ? randoms(nh) : nil
        let pad: [Float]? = padded ? [1, 1, 1, 0, 1, 1, 0, 0] : nil
        let variant: AttentionVariant = clipped ? .clippedSoftmax(gamma: -0.1, zeta: 1.1) : .standard
        let w = randoms(b * t * nh * hd)
        var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count), dv = dk
        var dhm = [Float](repeating: 0, count: nh)
        pad.withOptionalFloats { padp in
            hm.withOptionalFloats { hmp in
                attentionBackward(dq: &dq, dk: &dk, dv: &dv, dheadMask: &dhm, dout: w, q: q, k: k, v: v,
                                  mask: AttentionMask(causal: causal, keyPadding: padp, window: window), headMask: hmp, variant: variant,
                                  batch: b, seqLen: t, heads: nh, kvHeads: nkv, headDim: hd, scale: scale)
            }
        }
        let f: ([[Double]]) -> [Double] = { a in
            self.attentionD(a[0], a[1], a[2], hm: headMask ? a[3] : nil, b: b, t: t, nh: nh, nkv: nkv, hd: hd, scale: Double(scale),
                            causal: causal, pad: pad, clip: clipped ? (-0.1, 1.1) : nil, window: window)
        }
        let inputs = [q, k, v, hm ?? [1]]
        let label = "causal \(causal) padded \(padded) clipped \(clipped) headMask \(headMask) \(nh)/\(nkv) window \(String(describing: window))"
        assertClose(dq, numericalGradient(inputs, which: 0, w: w, f), atol: 1e-4, rtol: 1e-3, "dq \(label)")
        assertClose(dk, numericalGradient(inputs, which: 1, w: w, f), atol: 1e-4, rtol: 1e-3, "dk \(label)")
        assertClose(dv, numericalGradient(inputs, which: 2, w: w, f), atol: 1e-4, rtol: 1e-3, "dv \(label)")
        if headMask { assertClose(dhm, numericalGradient(inputs, which: 3, w: w, f), atol: 1e-4, rtol: 1e-3, "dheadMask \(label)") }
    }

    func testAttentionBackward() {
        checkAttention(causal: true, padded: false, clipped: false, headMask: false, nh: 4, nkv: 2)
        checkAttention(causal: false, padded: true, clipped: false, headMask: true, nh: 2, nkv: 2)
        checkAttention(causal: true, padded: true, clipped: true, headMask: true, nh: 4, nkv: 1)
        checkAttention(causal: true, padded: false, clipped: false, headMask: true, nh: 4, nkv: 2, window: 2)   // Mistral sliding window
    }

    // MARK: embedding, cross-entropy
    func testEmbeddingBackward() {
        let v = 5, c = 3, ids: [Int32] = [1, 3, 1, 0]
        let table = randoms(v * c), w = randoms(ids.count * c)
        var dt = [Float](repeating: 0, count: v * c)
        embeddingBackward(&dt, dout: w, ids: ids, rows: ids.count, channels: c)
        let f: ([[Double]]) -> [Double] = { a in ids.flatMap { id in (0..<c).map { a[0][Int(id) * c + $0] } } }
        assertClose(dt, numericalGradient([table], which: 0, w: w, f), atol: 1e-4, rtol: 1e-3, "embedding")
    }

    func testCrossEntropyForwardBackward() {
        let n = 4, v = 6, eps: Float = 0.1
        let x = randoms(n * v, scale: 2)
        let targets: [Int32] = [2, -100, 5, 0]
        let f: ([[Double]]) -> [Double] = { a in
            (0..<n).map { r in
                guard targets[r] != -100 else { return 0 }
                let row = Array(a[0][(r * v)..<((r + 1) * v)])
                let m = row.max()!, logZ = m + log(row.reduce(0) { $0 + exp($1 - m) })
                return (1 - Double(eps)) * (logZ - row[Int(targets[r])]) + Double(eps) * (logZ - row.reduce(0, +) / Double(v))
            }
        }
        var losses = [Float](repeating: 0, count: n)
        let count = crossEntropyForward(&losses, logits: x, targets: targets, rows: n, vocab: v, labelSmoothing: eps)
        XCTAssertEqual(count, 3)
        assertClose(losses, f([x.map(Double.init)]).map(Float.init), atol: 1e-5, rtol: 1e-5, "losses")
        var dx = [Float](repeating: 0, count: n * v)
        crossEntropyBackward(&dx, logits: x, targets: targets, scale: 1 / 3, rows: n, vocab: v, labelSmoothing: eps)
        let w = [Float](repeating: 1 / 3, count: n)
        assertClose(dx, numericalGradient([x], which: 0, w: w, f), atol: 1e-4, rtol: 1e-3, "dlogits")
    }
}

/// Deterministic normal samples for tests (SplitMix64 + Box–Muller).
struct BackwardTestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }
}

extension Optional where Wrapped == [Float] {
    func withOptionalFloats<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let self else { return body(nil) }
        return self.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// Seeded random normals and central differences in Float64: the oracle of the backward kernels.
struct FiniteDifference {
    var rng: BackwardTestRandom
    init(seed: UInt64) { rng = BackwardTestRandom(seed: seed) }
    mutating func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in scale * rng.normal() } }

    /// Numerical gradient of `Σ w·f(x)` with respect to `inputs[which]`.
    func numericalGradient(_ inputs: [[Float]], which: Int, w: [Float], _ f: ([[Double]]) -> [Double]) -> [Float] {
        var xs = inputs.map { $0.map(Double.init) }
        let h = 1e-6
        func loss() -> Double { zip(f(xs), w).reduce(0) { $0 + $1.0 * Double($1.1) } }
        return (0..<xs[which].count).map { i in
            let old = xs[which][i]
            xs[which][i] = old + h; let up = loss()
            xs[which][i] = old - h; let down = loss()
            xs[which][i] = old
            return Float((up - down) / (2 * h))
        }
    }
}
