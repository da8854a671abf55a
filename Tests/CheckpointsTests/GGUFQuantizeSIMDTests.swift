import CSIMD
import Tensors
import TestSupport
import XCTest
@testable import Checkpoints

/// The AVX2 block quantizers (CSIMD ggml_quantize.c) against their Swift twins (GGUFQuantize.swift,
/// which GGUFWriterTests pins byte for byte to llama-quantize): the same bytes on seeded random rows
/// and on the blocks where a vector loop could drift — zeros of both signs, both signs of the largest
/// magnitude, codes exactly at .5, constant blocks, huge and subnormal scales, non-finite values.
final class GGUFQuantizeSIMDTests: XCTestCase {
    static let types: [GGMLType] = [.Q8_0, .Q4_0, .Q4_1, .Q5_0]

    /// Blocks of 32 floats, each a case the sequential loops decide in an order-dependent way.
    func edgeBlocks() -> [[Float]] {
        var blocks: [[Float]] = []
        func add(_ f: (Int) -> Float) { blocks.append((0..<32).map(f)) }
        add { _ in 0 }
        add { _ in -0.0 }
        add { $0 % 3 == 0 ? -0.0 : 0 }   // zeros, first one negative
        add { $0 % 3 == 1 ? -0.0 : 0 }   // zeros, first one positive
        add { $0 == 5 ? 2 : ($0 == 9 ? -2 : 0.25) }   // +max before −max
        add { $0 == 5 ? -2 : ($0 == 9 ? 2 : 0.25) }   // −max before +max
        add { _ in 3.75 }   // constant (Q4_1: d = 0)
        add { _ in -1e-3 }
        add { Float($0 - 16) + 0.5 }   // halves at scale 1 (Q8_0 amax 127 below)
        add { $0 == 0 ? 127 : Float($0 % 17) - 8.5 }   // Q8_0 d = 1: x·id = k + 0.5 exactly
        add { $0 == 0 ? -8 : Float($0 % 16) - 8 + ($0 % 2 == 0 ? 0.5 : 0) }   // Q4_0 d = 1
        add { $0 == 0 ? -16 : Float($0 % 32) - 16.5 }   // Q5_0 d = 1
        add { $0 % 2 == 0 ? 0 : 15 }   // Q4_1 d = 1, min 0
        add { $0 % 4 == 0 ? Float.greatestFiniteMagnitude : -Float.greatestFiniteMagnitude }
        add { $0 == 7 ? 3e38 : Float($0) }
        add { Float($0) * 1e-39 }   // subnormal: 1/d overflows
        add { $0 == 3 ? Float.leastNonzeroMagnitude : 0 }
        add { $0 == 3 ? 1e-30 : -1e-31 }
        add { $0 == 31 ? 1 : -0.999_999_94 }   // largest magnitude last
        for bad: Float in [.infinity, -.infinity, .nan] {                 // the Swift twin takes these blocks
            blocks.append((0..<32).map { $0 == 11 ? bad : Float($0) / 7 })
        }
        return blocks
    }

    func randomBlocks(_ count: Int, _ rng: inout SeededGenerator) -> [[Float]] {
        (0..<count).map { _ in
            let scale = Float.random(in: -6...3, using: &rng)
            return (0..<32).map { _ in Float.random(in: -1...1, using: &rng) * pow(10, scale) }
        }
    }

    func bytes(_ values: [Float], _ type: GGMLType, simd: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: type.byteCount(elements: values.count))
        out.withUnsafeMutableBytes { o in values.withUnsafeBufferPointer { quantizeGGML(o, $0, type: type, simd: simd) } }
        return out
    }

    func testSIMDEqualsTheSwiftTwinOnRandomAndEdgeBlocks() throws {
        guard csimd_available() == 1 else { throw XCTSkip("no AVX2/F16C on this CPU (or WHITTLE_NO_SIMD set): nothing to compare") }
        var rng = seededGenerator(17)
        let edges = edgeBlocks()
        // Edge blocks alone, then shuffled among random ones (so a stop and resume happens mid-row).
        let row = (randomBlocks(200, &rng) + edges + randomBlocks(50, &rng)).shuffled(using: &rng)
        for type in Self.types {
            for (k, block) in edges.enumerated() {
                XCTAssertEqual(bytes(block, type, simd: true), bytes(block, type, simd: false), "\(type) edge block \(k): \(block.prefix(4))…")
            }
            let values = row.flatMap { $0 }
            let fast = bytes(values, type, simd: true), naive = bytes(values, type, simd: false)
            let per = type.blockBytes
            for b in 0..<row.count where fast[(b * per)..<((b + 1) * per)] != naive[(b * per)..<((b + 1) * per)] {
                XCTFail("\(type) block \(b) differs: \(row[b].prefix(4))…"); break
            }
        }
        // The float types go through DTypeConversion's SIMD stores: the same codes as the block functions.
        let values = row.flatMap { $0 }
        for type: GGMLType in [.F32, .F16, .BF16] {
            XCTAssertEqual(bytes(values, type, simd: true), bytes(values, type, simd: false), "\(type)")
        }
    }

    /// The vector loop must do the finite blocks itself (a loop that always stopped would pass the test
    /// above), and must stop at a non-finite one.
    func testSIMDCoversFiniteBlocksAndStopsAtNonFinite() throws {
        guard csimd_available() == 1 else { throw XCTSkip("no AVX2/F16C on this CPU (or WHITTLE_NO_SIMD set): nothing to compare") }
        var rng = seededGenerator(18)
        var values = randomBlocks(64, &rng).flatMap { $0 }
        for type in Self.types {
            var out = [UInt8](repeating: 0, count: type.byteCount(elements: values.count))
            let done = out.withUnsafeMutableBytes { o in
                values.withUnsafeBufferPointer { csimd_ggml_quantize(Int32(type.rawValue), o.baseAddress, $0.baseAddress, 64) }
            }
            XCTAssertEqual(done, 64, "\(type)")
        }
        values[40 * 32 + 3] = Float.nan
        for type in Self.types {
            var out = [UInt8](repeating: 0, count: type.byteCount(elements: values.count))
            let done = out.withUnsafeMutableBytes { o in
                values.withUnsafeBufferPointer { csimd_ggml_quantize(Int32(type.rawValue), o.baseAddress, $0.baseAddress, 64) }
            }
            XCTAssertEqual(done, 40, "\(type)")
        }
    }
    /// K-quant super-blocks (256 weights) that steer the scale search of each sub-block (Q6_K: 16
    /// weights, 19 trial scales; Q4_K: 32 weights, 21 least-squares fits) one way or the other: sub-blocks of zeros and below GROUP_MAX_EPS (scale 0, codes 0), both signs of
    /// the largest magnitude, constants, a single spike, subnormals, huge values, and random scales.
    func q6KSuperBlocks(_ rng: inout SeededGenerator) -> [[Float]] {
        var blocks: [[Float]] = []
        func random(_ exponent: Float) -> [Float] { (0..<16).map { _ in Float.random(in: -1...1, using: &rng) * pow(10, exponent) } }
        let subBlocks: [[Float]] = [
            [Float](repeating: 0, count: 16), [Float](repeating: -0.0, count: 16), [Float](repeating: 1e-16, count: 16),
            (0..<16).map { $0 == 4 ? 2 : ($0 == 9 ? -2 : 0.3) }, (0..<16).map { $0 == 4 ? -2 : ($0 == 9 ? 2 : 0.3) },
            [Float](repeating: 0.75, count: 16), (0..<16).map { $0 == 15 ? -1 : 0 }, (0..<16).map { Float($0) * 1e-39 },
            (0..<16).map { Float($0 - 8) * 1e30 }, (0..<16).map { Float($0 % 5) - 2 },
        ]
        for k in 0..<24 {   // each super-block mixes edge sub-blocks among random ones of random scales
            var block: [Float] = []
            for b in 0..<16 { block += (b + k) % 3 == 0 ? subBlocks[(b * 7 + k) % subBlocks.count] : random(Float.random(in: -5...2, using: &rng)) }
            blocks.append(block)
        }
        blocks.append([Float](repeating: 0, count: 256))
        blocks.append((0..<256).map { $0 == 200 ? 1e-3 : 0 })   // one live sub-block
        // Q4_K's 32-weight sub-blocks: constant negative (max = min: levels 0, min kept), constant
        // positive (min clamped to 0), all of one sign, a ramp.
        blocks.append((0..<256).map { (i: Int) -> Float in
            if i < 32 { return -0.5 }
            if i < 64 { return 0.7 }
            return i < 128 ? Float(i % 7) + 1 : -Float(i % 5) - 0.25
        })
        blocks.append((0..<256).map { Float($0) / 255 - 0.3 })
        for _ in 0..<40 { blocks.append((0..<16).flatMap { _ in random(Float.random(in: -4...1, using: &rng)) }) }
        return blocks
    }

    func testKQuantSIMDEqualsTheSwiftTwin() throws {
        guard csimd_avx512_available() == 1 else { throw XCTSkip("no AVX-512 on this CPU (or WHITTLE_NO_SIMD set): the Q6_K kernel does not run") }
        var rng = seededGenerator(19)
        let blocks = q6KSuperBlocks(&rng)
        for (type, id) in [(GGMLType.Q4_K, CSIMD_GGML_Q4_K), (.Q6_K, CSIMD_GGML_Q6_K)] {
            for (k, block) in blocks.enumerated() {
                XCTAssertEqual(bytes(block, type, simd: true), bytes(block, type, simd: false), "\(type) super-block \(k): \(block.prefix(4))…")
            }
            // It must do the finite super-blocks itself and stop at a non-finite one.
            var values = blocks.flatMap { $0 }
            let count = blocks.count
            func done() -> Int {
                var out = [UInt8](repeating: 0, count: type.byteCount(elements: values.count))
                return out.withUnsafeMutableBytes { o in values.withUnsafeBufferPointer { csimd_ggml_quantize(id, o.baseAddress, $0.baseAddress, count) } }
            }
            XCTAssertEqual(done(), count, "\(type)")
            values[30 * 256 + 77] = .infinity
            XCTAssertEqual(done(), 30, "\(type)")
            values[30 * 256 + 77] = 0
            values[12 * 256 + 3] = .nan
            XCTAssertEqual(done(), 12, "\(type)")
            XCTAssertEqual(bytes(values, type, simd: true), bytes(values, type, simd: false), "\(type): a row with a NaN super-block")
        }
    }
}
