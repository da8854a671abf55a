import COpenBLAS
import Tensors
import Kernels
import TestSupport
import XCTest

/// Each fast kernel against its naive twin on awkward sizes.
final class KernelTwinTests: XCTestCase {
    var rng = SeededGenerator(seed: 0)
    override func setUp() { super.setUp(); rng = seededGenerator(7) }
    func random(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in Float.random(in: -scale...scale, using: &rng) } }

    func testSgemmAllTransposesAndStridesMatchNaive() {
        let (m, n, k) = (7, 5, 9)
        for transA in [false, true] {
            for transB in [false, true] {
                let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1
                let a = random((transA ? k : m) * lda), b = random((transB ? n : k) * ldb)
                var c1 = random(m * ldc), c2 = c1
                sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a, lda: lda, b, ldb: ldb, beta: 2, &c1, ldc: ldc)
                sgemmNaive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a, lda: lda, b, ldb: ldb, beta: 2, &c2, ldc: ldc)
                assertClose(c1, c2, atol: 1e-5, "transA \(transA) transB \(transB)")
            }
        }
    }

    func testBatchedSgemmMatchesPerBatchNaive() {
        let (batch, m, n, k) = (3, 4, 6, 5)
        let a = random(batch * m * k), b = random(batch * k * n)
        var c1 = [Float](repeating: 0, count: batch * m * n), c2 = c1
        sgemmBatched(batch: batch, transA: false, transB: false, m: m, n: n, k: k, a, lda: k, strideA: m * k, b, ldb: n, strideB: k * n, &c1, ldc: n, strideC: m * n)
        for i in 0..<batch {
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c2.withUnsafeMutableBufferPointer { cp in
                sgemmNaive(transA: false, transB: false, m: m, n: n, k: k, ap.baseAddress! + i * m * k, lda: k, bp.baseAddress! + i * k * n, ldb: n, cp.baseAddress! + i * m * n, ldc: n)
            } } }
        }
        assertClose(c1, c2, atol: 1e-5)
    }

    func testMatmulForwardWithAndWithoutBias() {
        for n in [6, 1] {       // one row takes the GEMV path (decode steps)
            let (c, oc) = (13, 11)
            let x = random(n * c), w = random(oc * c), b = random(oc)
            var y1 = [Float](repeating: .nan, count: n * oc), y2 = y1
            matmulForward(&y1, x, w, b, rows: n, inFeatures: c, outFeatures: oc)
            matmulForwardNaive(&y2, x, w, b, rows: n, inFeatures: c, outFeatures: oc)
            assertClose(y1, y2, atol: 1e-5, "rows \(n), bias")
            y1 = [Float](repeating: .nan, count: n * oc)
            matmulForward(&y1, x, w, nil, rows: n, inFeatures: c, outFeatures: oc)
            matmulForwardNaive(&y2, x, w, nil, rows: n, inFeatures: c, outFeatures: oc)
            assertClose(y1, y2, atol: 1e-5, "rows \(n), no bias")
        }
    }

    func testSoftmaxLargeParallelAndMaskedRows() {
        let (n, l) = (300, 257)   // above the parallel threshold
        var x = random(n * l, scale: 20)
        for j in 0..<l { x[l + j] = -.infinity }   // row 1 fully masked → zeros
        x[2 * l + 3] = -.infinity
        var y1 = [Float](repeating: 0, count: n * l), y2 = y1
        softmaxForward(&y1, x, rows: n, cols: l)
        softmaxForwardNaive(&y2, x, rows: n, cols: l)
        assertClose(y1, y2, atol: 1e-6)
        XCTAssertEqual(Array(y1[l..<(2 * l)]), [Float](repeating: 0, count: l))
        XCTAssertEqual(y1[2 * l + 3], 0)
    }

    func testClippedSoftmaxReachesExactZerosAndOnes() {
        var p: [Float] = [0, 0.01, 0.5, 0.95, 1]
        clipSoftmaxForward(&p, count: 5, gamma: -0.1, zeta: 1.1)
        assertClose(p, [0, 0, 0.5, 1, 1], atol: 1e-6)
    }

    func testLayerNormAndRMSNormMatchNaive() {
        let (n, c) = (70, 513)
        let x = random(n * c, scale: 3), w = random(c), b = random(c)
        var y1 = [Float](repeating: 0, count: n * c), y2 = y1
        var mean = [Float](repeating: 0, count: n), rstd = mean
        layerNormForward(&y1, mean: &mean, rstd: &rstd, x, weight: w, bias: b, rows: n, channels: c, eps: 1e-5)
        layerNormForwardNaive(&y2, x, weight: w, bias: b, rows: n, channels: c, eps: 1e-5)
        assertClose(y1, y2, atol: 1e-4)
        rmsNormForward(&y1, rstd: &rstd, x, weight: w, rows: n, channels: c, eps: 1e-6)
        rmsNormForwardNaive(&y2, x, weight: w, rows: n, channels: c, eps: 1e-6)
        assertClose(y1, y2, atol: 1e-4)
    }

    func testActivationsMatchNaive() {
        let x = random(40_000, scale: 6)
        var y = [Float](repeating: 0, count: x.count)
        geluErfForward(&y, x, count: x.count)
        assertClose(y, x.map(geluErfNaive), atol: 1e-5)
        geluTanhForward(&y, x, count: x.count)
        assertClose(y, x.map(geluTanhNaive), atol: 1e-5)
        siluForward(&y, x, count: x.count)
        assertClose(y, x.map(siluNaive), atol: 1e-5)
        let up = random(x.count)
        swigluForward(&y, gate: x, up: up, count: x.count)
        assertClose(y, zip(x, up).map { siluNaive($0) * $1 }, atol: 1e-5)
    }

    func testRotaryMatchesRotateHalfTwin() {
        let (n, h, hd) = (5, 3, 8)
        let inv = rotaryInverseFrequencies(dim: hd, theta: 10000, scaling: .none, seqLen: n)
        let (c, s) = rotaryTables(positions: Array(0..<n), inverseFrequencies: inv)
        var x1 = random(n * h * hd), x2 = x1
        rotaryForward(&x1, cos: c, sin: s, rows: n, heads: h, headDim: hd)
        rotaryForwardNaive(&x2, cos: c, sin: s, rows: n, heads: h, headDim: hd)
        assertClose(x1, x2, atol: 1e-6)
    }

    func testRopeScalingFrequencies() {
        let base = rotaryInverseFrequencies(dim: 8, theta: 10000, scaling: .none, seqLen: 4)
        assertClose(base, [1, 0.1, 0.01, 0.001], atol: 1e-7, rtol: 1e-6)
        assertClose(rotaryInverseFrequencies(dim: 8, theta: 10000, scaling: .linear(factor: 2), seqLen: 4), base.map { $0 / 2 }, atol: 1e-9)
        // Dynamic NTK: unchanged within max positions; base grows beyond (transformers formula).
        assertClose(rotaryInverseFrequencies(dim: 8, theta: 10000, scaling: .dynamicNTK(factor: 2, maxPositions: 8), seqLen: 8), base, atol: 0)
        let grown = 10000 * pow(2.0 * 12 / 8 - 1, 8.0 / 6)
        assertClose(rotaryInverseFrequencies(dim: 8, theta: 10000, scaling: .dynamicNTK(factor: 2, maxPositions: 8), seqLen: 12),
                    (0..<4).map { Float(1 / pow(grown, Double(2 * $0) / 8)) }, atol: 1e-7, rtol: 1e-5)
        // Llama 3: wavelength 6.28 < 16 kept, 62.8 smoothed, 628 and 6283 divided by 8.
        let l3 = rotaryInverseFrequencies(dim: 8, theta: 10000, scaling: .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64), seqLen: 4)
        let smooth: Float = (64 / (2 * .pi / 0.1) - 1) / 3
        assertClose(l3, [1, (1 - smooth) * 0.1 / 8 + smooth * 0.1, 0.01 / 8, 0.001 / 8], atol: 1e-7, rtol: 1e-5)
    }

    func testAttentionCausalGQAPaddingHeadMaskMatchesNaive() {
        let (b, t, nh, nkv, hd) = (2, 9, 4, 2, 8)
        let q = random(b * t * nh * hd), k = random(b * t * nkv * hd), v = random(b * t * nkv * hd)
        let pad: [Float] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
        let headMask: [Float] = [1, 0, 0.5, 1]
        for causal in [true, false] {
            for variant in [AttentionVariant.standard, .clippedSoftmax(gamma: -0.05, zeta: 1.05)] {
                var o1 = [Float](repeating: 0, count: b * t * nh * hd), o2 = o1
                var probs = [Float](repeating: 0, count: b * nh * t * t)
                pad.withUnsafeBufferPointer { pp in
                    let mask = AttentionMask(causal: causal, keyPadding: pp.baseAddress)
                    attentionForward(&o1, probs: &probs, q: q, k: k, v: v, mask: mask, headMask: headMask, variant: variant,
                                     batch: b, seqLen: t, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.35)
                    attentionForwardNaive(&o2, q: q, k: k, v: v, mask: mask, headMask: headMask, variant: variant,
                                          batch: b, seqLen: t, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.35)
                }
                assertClose(o1, o2, atol: 1e-5, "causal \(causal) \(variant)")
            }
        }
    }

    func testCausalAttentionAcrossQueryBlocksMatchesNaive() {
        let (b, t, nh, nkv, hd) = (1, attentionQueryBlock * 2 + 5, 2, 1, 4)
        let q = random(b * t * nh * hd), k = random(b * t * nkv * hd), v = random(b * t * nkv * hd)
        var o1 = [Float](repeating: 0, count: b * t * nh * hd), o2 = o1
        var probs = [Float](repeating: 0, count: b * nh * t * t)
        let mask = AttentionMask(causal: true)
        attentionForward(&o1, probs: &probs, q: q, k: k, v: v, mask: mask, headMask: nil, variant: .standard,
                         batch: b, seqLen: t, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.5)
        attentionForwardNaive(&o2, q: q, k: k, v: v, mask: mask, headMask: nil, variant: .standard,
                              batch: b, seqLen: t, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.5)
        assertClose(o1, o2, atol: 1e-5)
        XCTAssertEqual(probs[1], 0, "row 0 sees only key 0")
        XCTAssertEqual(probs[t - 1 + t * (t - 1)] > 0, true)
    }

    /// A prefill's attention with its heads spread over the pool's seats (OpenBLAS on one thread, as
    /// `EagerExecutor.attention` sets it) equals the head-by-head loop bit for bit, and the naive twin.
    func testAttentionHeadsOnCoresEqualHeadByHead() throws {
        try XCTSkipUnless(kernelThreads > 1, "one core: the heads have no second seat")
        let saved = Threads.count
        Threads.set(2)
        openblas_set_num_threads(1)
        defer { Threads.set(saved) }
        let (b, t, nh, nkv, hd) = (2, attentionQueryBlock + 7, 4, 2, 16)
        let q = random(b * t * nh * hd), k = random(b * t * nkv * hd), v = random(b * t * nkv * hd)
        let pad = (0..<(b * t)).map { $0 >= 2 * t - 5 ? Float(0) : 1 }
        let headMask: [Float] = [1, 0, 0.5, 1]
        for (causal, window) in [(true, nil), (true, 40), (false, nil)] as [(Bool, Int?)] {
            for variant in [AttentionVariant.standard, .clippedSoftmax(gamma: -0.05, zeta: 1.05)] {
                func run(headsOnCores: Bool?) -> [Float] {   // nil: the naive twin
                    var out = [Float](repeating: 0, count: b * t * nh * hd)
                    pad.withUnsafeBufferPointer { pp in
                        let mask = AttentionMask(causal: causal, keyPadding: pp.baseAddress, window: window)
                        if let headsOnCores {
                            attentionForward(&out, probs: nil, q: q, k: k, v: v, mask: mask, headMask: headMask, variant: variant, batch: b, seqLen: t,
                                             heads: nh, kvHeads: nkv, headDim: hd, scale: 0.25, headsOnCores: headsOnCores)
                        } else {
                            attentionForwardNaive(&out, q: q, k: k, v: v, mask: mask, headMask: headMask, variant: variant,
                                                  batch: b, seqLen: t, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.25)
                        }
                    }
                    return out
                }
                let serial = run(headsOnCores: false), spread = run(headsOnCores: true), naive = run(headsOnCores: nil)
                XCTAssertEqual(spread, serial, "causal \(causal) window \(String(describing: window)) \(variant)")
                assertClose(spread, naive, atol: 1e-5, "causal \(causal) window \(String(describing: window)) \(variant): naive")
            }
        }
    }

    func testEmbeddingGather() {
        let table: [Float] = [0, 1, 10, 11, 20, 21]
        var out = [Float](repeating: 0, count: 6)
        embeddingForward(&out, ids: [2, 0, 1], table: table, rows: 3, channels: 2)
        XCTAssertEqual(out, [20, 21, 0, 1, 10, 11])
        embeddingAddForward(&out, ids: [0, 0, 0], table: table, rows: 3, channels: 2)
        XCTAssertEqual(out, [20, 22, 0, 2, 10, 12])
    }
}
