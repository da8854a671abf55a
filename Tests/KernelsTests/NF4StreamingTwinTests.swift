import CSIMD
@testable import Kernels
import Tensors
import TestSupport
import XCTest

/// What a streaming NF4 pass computes without a full Float32 copy — the block absmax ahead of
/// quantizing, the double-quantization offset, the reconstruction error — against plain oracles:
/// the naive quantizer, full dequantization, and a linear scan of the DYNAMIC8 map.
final class NF4StreamingTwinTests: XCTestCase {
    /// ‖W − Ŵ‖ / ‖W‖ in Double from the dequantized Float32 values, term by term.
    func oracleError(_ w: [Float], _ restored: [Float]) -> Double {
        var num = 0.0, den = 0.0
        for (a, b) in zip(w, restored) { num += (Double(a) - Double(b)) * (Double(a) - Double(b)); den += Double(a) * Double(a) }
        return (num / den).squareRoot()
    }

    func testBlockAbsmaxEqualsWhatTheNaiveQuantizerStores() {
        var rng = SeededNormal(seed: 21)
        for (n, bs) in [(64 * 5 + 3, 64), (32, 32), (4096 * 2 + 100, 4096), (1000, 128)] {
            var w = rng.array(n)
            for i in 0..<min(n, 64) { w[i] = 0 }
            if n > 200 { w[150] = .nan }
            var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
            var expected = [Float](repeating: 0, count: (n + bs - 1) / bs), absmax = expected
            nf4QuantizeNaive(packed: &packed, absmax: &expected, input: w, count: n, blockSize: bs)
            nf4BlockAbsmax(absmax: &absmax, input: w, count: n, blockSize: bs)
            XCTAssertEqual(absmax.map(\.bitPattern), expected.map(\.bitPattern), "n \(n), block \(bs)")
        }
    }

    func testSquaredErrorEqualsFullDequantization() {
        var rng = SeededNormal(seed: 22)
        for (n, bs) in [(64 * 7 + 5, 64), (32 * 3, 32), (4096 + 33, 4096), (1 << 16 | 9, 64)] {
            let w = rng.array(n).map { $0 * 0.03 }
            let q = w.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: [n], blockSize: bs, doubleQuant: true) }
            let scales = q.blockAbsmax(), restored = q.dequantized()
            let expected = oracleError(w, restored)
            for (name, f) in [("nf4SquaredError", nf4SquaredError), ("nf4SquaredErrorScalar", nf4SquaredErrorScalar)] {
                let (e, norm) = f(q.packed, scales, w, n, bs)
                XCTAssertEqual((e / norm).squareRoot(), expected, accuracy: 1e-12 * expected, "\(name), n \(n), block \(bs)")
            }
        }
    }

    func testTensorErrorAndOffsetFromF32AndBF16StorageEqualOracles() {
        var rng = SeededNormal(seed: 23)
        for dtype in [DType.F32, .BF16, .F16] {
            for (shape, bs) in [([3, 1000], 64), ([1 << 19 | 64 + 7], 64), ([37, 4096], 4096)] {
                let n = shape.reduce(1, *)
                let tensor = Tensor(floats: rng.array(n).map { $0 * 0.02 }, shape: shape, dtype: dtype)
                let w = tensor.floats()
                let q = NF4Tensor.quantize(tensor, blockSize: bs, doubleQuant: true)
                guard case let .double(dq) = q.absmax else { return XCTFail("expected double quantization") }
                XCTAssertEqual(NF4Tensor.doubleQuantOffset(of: tensor, blockSize: bs).bitPattern, dq.offset.bitPattern, "\(dtype) \(shape)")
                let expected = oracleError(w, q.dequantized())
                XCTAssertEqual(q.relativeError(to: tensor), expected, accuracy: 1e-12 * expected, "\(dtype) \(shape)")
                // The Float32 path quantizes the same codes as the stored-tensor path.
                let direct = w.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: shape, blockSize: bs, doubleQuant: true) }
                XCTAssertEqual(direct.packed, q.packed, "\(dtype) \(shape)")
            }
        }
    }

    /// Quantizing and measuring in one read equals the two steps apart, with the offset found ahead
    /// or (a wrong one) corrected by the fallback.
    func testQuantizeMeasuringErrorEqualsQuantizeThenError() {
        var rng = SeededNormal(seed: 25)
        for (dtype, shape, bs, dq) in [(DType.F32, [1 << 18 | 5], 64, true), (.BF16, [300, 1000], 128, true),
                                       (.F32, [3, 4096 * 3 + 1], 4096, true), (.F16, [70, 65], 32, false)] {
            let n = shape.reduce(1, *)
            let tensor = Tensor(floats: rng.array(n).map { $0 * 0.02 }, shape: shape, dtype: dtype)
            let expected = NF4Tensor.quantize(tensor, blockSize: bs, doubleQuant: dq)
            let error = expected.relativeError(to: tensor)
            let offset = dq ? NF4Tensor.doubleQuantOffset(of: tensor, blockSize: bs) : nil
            for (label, given) in [("offset", offset), ("wrong offset", dq ? offset! * 1.5 : nil)] {
                let (q, e) = NF4Tensor.quantizeMeasuringError(tensor, blockSize: bs, doubleQuant: dq, offset: given)
                XCTAssertEqual(q.packed, expected.packed, "\(dtype) \(shape) \(label)")
                XCTAssertEqual(q.absmax, expected.absmax, "\(dtype) \(shape) \(label)")
                XCTAssertEqual(q.originalDType, expected.originalDType)
                XCTAssertEqual(e, error, accuracy: 1e-12 * error, "\(dtype) \(shape) \(label)")
            }
        }
    }

    /// Both searches pick the nearest DYNAMIC8 entry, ties to the lower index, as a linear scan does:
    /// on random values, every entry, its neighbours one ulp away, the midpoints between entries, and
    /// the smallest Float of buckets near them.
    func testDynamic8CodeEqualsLinearScan() {
        var rng = SeededNormal(seed: 24)
        let map = Dynamic8.values
        var xs = rng.array(20000).map { $0 / 3 } + map + map.map(\.nextUp) + map.map(\.nextDown)
        let mids = zip(map, map.dropFirst()).map { ($0 + $1) / 2 }
        xs += mids + mids.map(\.nextUp) + mids.map(\.nextDown)
        xs += map.flatMap { v in [Float(bitPattern: v.bitPattern & 0xFFFF_0000), Float(bitPattern: v.bitPattern | 0xFFFF)] }
        xs += (0..<4000).map { Float($0 - 2000) / 1000 } + [-2, 2, -1, 1, 0, -0.0, 1e-30, -1e-30, .nan]
        map.withUnsafeBufferPointer { m in
            Dynamic8.bucketStart.withUnsafeBufferPointer { buckets in
                for x in xs {
                    var best = 0
                    if !x.isNaN { for k in 1..<256 where abs(x - map[k]) < abs(x - map[best]) { best = k } }
                    XCTAssertEqual(Int(dynamic8Code(x, m)), best, "x = \(x)")
                    XCTAssertEqual(Int(dynamic8CodeFromBucket(x, m, buckets)), best, "x = \(x), from its bucket")
                }
            }
        }
    }
}
