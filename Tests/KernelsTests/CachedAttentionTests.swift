import Kernels
import Tensors
import TestSupport
import XCTest

/// `cachedAttentionForward` against its naive twin, and the sliding-window mask of the fused and step
/// kernels against the naive twin (the models' tests hold both to transformers).
final class CachedAttentionTests: XCTestCase {
    func random(_ n: Int, _ rng: inout SeededGenerator) -> [Float] { (0..<n).map { _ in Float.random(in: -1...1, using: &rng) } }

    func testCachedAttentionEqualsItsNaiveTwin() {
        let seed: UInt64 = 42
        var rng = SeededGenerator(seed: seed)
        let nh = 4, nkv = 2, hd = 8, capacity = 12, t = 3
        let g0 = CacheGeometry(past: [0, 5, 8], count: [3, 1, 2], newTokens: t, capacity: capacity, window: nil)
        let b = g0.past.count
        let q = random(b * t * nh * hd, &rng), k = random(b * capacity * nkv * hd, &rng), v = random(b * capacity * nkv * hd, &rng)
        let headMask: [Float] = [1, 0, 0.5, 1]
        for (window, variant, mask) in [(nil, AttentionVariant.standard, nil), (Optional(3), .standard, Optional(headMask)),
                                        (2, .clippedSoftmax(gamma: -0.1, zeta: 1.1), nil)] {
            var g = g0; g.window = window
            var fast = [Float](repeating: .nan, count: q.count), naive = fast
            withOptionalPointer(mask) { hm in
                cachedAttentionForward(&fast, q: q, kCache: k, vCache: v, g, headMask: hm, variant: variant, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.35)
                cachedAttentionForwardNaive(&naive, q: q, kCache: k, vCache: v, g, headMask: hm, variant: variant, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.35)
            }
            assertClose(fast, naive, atol: 1e-5, "seed \(seed) window \(String(describing: window)) \(variant)")
        }
        // Padding rows repeat the last real row of their sequence.
        var out = [Float](repeating: 0, count: q.count)
        var g = g0; g.count = [3, 1, 1]
        var qPadded = q
        let row = nh * hd
        for r in 1..<t { qPadded.replaceSubrange(((2 * t + r) * row)..<((2 * t + r + 1) * row), with: q[(2 * t * row)..<((2 * t + 1) * row)]) }
        cachedAttentionForward(&out, q: qPadded, kCache: k, vCache: v, g, headMask: nil, variant: .standard, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.35)
        for r in 1..<t { XCTAssertEqual(Array(out[((2 * t + r) * row)..<((2 * t + r + 1) * row)]), Array(out[(2 * t * row)..<((2 * t + 1) * row)])) }
    }

    /// One new row per sequence (a decode step) runs CSIMD's one-row kernels (attention_one.c): against the
    /// naive twin at head widths with and without a partial 16-column chunk and past 64 columns, key counts
    /// with and without a partial group of four, GQA, a window, a head mask and the clipped variant; and
    /// against the sgemm path it replaces (`decodeAttentionKernel = false`).
    func testOneRowStepEqualsItsNaiveTwin() {
        let seed: UInt64 = 43
        var rng = SeededGenerator(seed: seed)
        let nh = 6, nkv = 2, capacity = 40
        let g0 = CacheGeometry(past: [0, 6, 36, 38], count: [1, 1, 1, 1], newTokens: 1, capacity: capacity, window: nil)
        let b = g0.past.count
        for hd in [64, 20, 8, 80] {
            let q = random(b * nh * hd, &rng), k = random(b * capacity * nkv * hd, &rng), v = random(b * capacity * nkv * hd, &rng)
            for (window, variant, mask) in [(nil, AttentionVariant.standard, nil), (Optional(5), .standard, Optional<[Float]>([1, 0, 0.5, 1, 2, 1])),
                                            (nil, .clippedSoftmax(gamma: -0.1, zeta: 1.1), nil)] {
                var g = g0; g.window = window
                var fast = [Float](repeating: .nan, count: q.count), naive = fast, blas = fast
                withOptionalPointer(mask) { hm in
                    cachedAttentionForward(&fast, q: q, kCache: k, vCache: v, g, headMask: hm, variant: variant, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.3)
                    cachedAttentionForwardNaive(&naive, q: q, kCache: k, vCache: v, g, headMask: hm, variant: variant, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.3)
                    decodeAttentionKernel = false
                    cachedAttentionForward(&blas, q: q, kCache: k, vCache: v, g, headMask: hm, variant: variant, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.3)
                    decodeAttentionKernel = true
                }
                let what = "seed \(seed) hd \(hd) window \(String(describing: window)) \(variant)"
                assertClose(fast, naive, atol: 1e-5, what)
                assertClose(fast, blas, atol: 1e-5, what + " (sgemm path)")
            }
        }
    }

    /// With no cached positions and every key new, the cached kernel is the fused one.
    func testCachedPrefillEqualsFusedAttention() {
        var rng = SeededGenerator(seed: 7)
        let nh = 4, nkv = 1, hd = 8, t = 9
        let q = random(t * nh * hd, &rng), k = random(t * nkv * hd, &rng), v = random(t * nkv * hd, &rng)
        for window in [nil, 4] {
            var fused = [Float](repeating: 0, count: q.count), cached = fused, naive = fused
            let mask = AttentionMask(causal: true, window: window)
            attentionForward(&fused, probs: nil, q: q, k: k, v: v, mask: mask, headMask: nil, variant: .standard,
                             batch: 1, seqLen: t, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.35)
            attentionForwardNaive(&naive, q: q, k: k, v: v, mask: mask, headMask: nil, variant: .standard,
                                  batch: 1, seqLen: t, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.35)
            cachedAttentionForward(&cached, q: q, kCache: k, vCache: v, CacheGeometry(past: [0], count: [t], newTokens: t, capacity: t, window: window),
                                   headMask: nil, variant: .standard, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.35)
            assertClose(fused, naive, atol: 1e-5, "fused, window \(String(describing: window))")
            assertClose(cached, naive, atol: 1e-5, "cached, window \(String(describing: window))")
        }
        // The window changes the result once the input is longer than it.
        var full = [Float](repeating: 0, count: q.count), windowed = full
        attentionForwardNaive(&full, q: q, k: k, v: v, mask: AttentionMask(causal: true), headMask: nil, variant: .standard,
                              batch: 1, seqLen: t, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.35)
        attentionForwardNaive(&windowed, q: q, k: k, v: v, mask: AttentionMask(causal: true, window: 4), headMask: nil, variant: .standard,
                              batch: 1, seqLen: t, heads: nh, kvHeads: nkv, headDim: hd, scale: 0.35)
        XCTAssertEqual(Array(full[0..<(4 * nh * hd)]), Array(windowed[0..<(4 * nh * hd)]))
        XCTAssertNotEqual(Array(full[(4 * nh * hd)...]), Array(windowed[(4 * nh * hd)...]))
    }
}

func withOptionalPointer<R>(_ a: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let a else { return body(nil) }
    return a.withUnsafeBufferPointer { body($0.baseAddress) }
}
