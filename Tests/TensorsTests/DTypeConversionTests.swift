import TestSupport
import XCTest
@testable import Tensors

/// Bit-level conversion checks that need no fixture: exhaustive against Swift's own Float16 and
/// the integer types. Comparisons against PyTorch live in CheckpointsTests/DTypeReferenceTests.
final class DTypeConversionTests: XCTestCase {
    func testEveryHalfCodeLoadsBitExactLikeSwiftFloat16() {
        let mismatches = (0...0xFFFF).map(UInt16.init).filter { h in
            DTypeConversion.float16ToFloat(h).bitPattern != Float(Float16(bitPattern: h)).bitPattern
        }
        XCTAssertEqual(mismatches, [], "half codes converting differently")
    }

    func testFloatToHalfRoundsLikeSwiftFloat16() {
        var rng = seededGenerator(201)
        var inputs: [Float] = (0..<200_000).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng)) }
        // every halfway point between adjacent halves (ties go to even), and their neighbours
        for code in 0..<0x7C00 {
            let a = Float(Float16(bitPattern: UInt16(code))), b = Float(Float16(bitPattern: UInt16(code + 1)))
            let mid = (a + b) / 2
            inputs += [mid, mid.nextUp, mid.nextDown, -mid]
        }
        inputs += [65504, 65519.996, 65520, 1e9, .infinity, -.infinity, 0, -0.0, .leastNonzeroMagnitude, 5.9604645e-08, 2.9802322e-08]
        var mismatches = 0
        for x in inputs where !x.isNaN {
            if DTypeConversion.floatToFloat16(x) != Float16(x).bitPattern { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0)
    }

    func testHalfNaNKeepsSignAndPayloadAndBecomesQuiet() {
        XCTAssertEqual(DTypeConversion.floatToFloat16(Float(bitPattern: 0x7FA0_0001)), 0x7F00)
        XCTAssertEqual(DTypeConversion.floatToFloat16(Float(bitPattern: 0x7F80_0001)), 0x7E00)
        XCTAssertEqual(DTypeConversion.floatToFloat16(Float(bitPattern: 0xFFC0_0000)), 0xFE00)
    }

    func testBFloat16RoundsToNearestEvenAndOverflowsToInfinity() {
        XCTAssertEqual(DTypeConversion.floatToBFloat16(Float(bitPattern: 0x3F80_8000)), 0x3F80)   // tie, even kept
        XCTAssertEqual(DTypeConversion.floatToBFloat16(Float(bitPattern: 0x3F81_8000)), 0x3F82)   // tie, odd rounds up
        XCTAssertEqual(DTypeConversion.floatToBFloat16(Float(bitPattern: 0x3F80_8001)), 0x3F81)
        XCTAssertEqual(DTypeConversion.floatToBFloat16(Float(bitPattern: 0x3F80_7FFF)), 0x3F80)
        XCTAssertEqual(DTypeConversion.floatToBFloat16(.greatestFiniteMagnitude), 0x7F80)          // rounds up to +inf
        XCTAssertEqual(DTypeConversion.floatToBFloat16(-.greatestFiniteMagnitude), 0xFF80)
        XCTAssertEqual(DTypeConversion.floatToBFloat16(Float(bitPattern: 0x7F7F_7FFF)), 0x7F7F)
        XCTAssertEqual(DTypeConversion.floatToBFloat16(.infinity), 0x7F80)
        XCTAssertEqual(DTypeConversion.floatToBFloat16(Float(bitPattern: 0x8000_0001)), 0x8000)   // tiny subnormal → -0
        XCTAssertEqual(DTypeConversion.floatToBFloat16(Float(bitPattern: 0xFFA0_0000)), 0xFFE0)   // NaN: sign kept, quiet
        XCTAssertEqual(DTypeConversion.floatToBFloat16(Float(bitPattern: 0x7F80_0001)), 0x7FC0)   // NaN with low payload stays NaN
    }

    /// Every stored code of every dtype survives load → Float → store unchanged (signalling NaNs
    /// excepted: they come back quiet). Integers are exact within Float's 24-bit significand.
    func testRoundTripThroughFloatIsBitExactForEveryWritableDType() {
        func roundTrip(_ dtype: DType, _ bytes: [UInt8]) -> [UInt8] {
            let n = bytes.count / dtype.byteSize
            let floats = bytes.withUnsafeBytes { raw in
                [Float](unsafeUninitializedCapacity: n) { buf, c in DTypeConversion.load(raw, as: dtype, into: buf); c = n }
            }
            var out = [UInt8](repeating: 0xAA, count: bytes.count)
            floats.withUnsafeBufferPointer { src in out.withUnsafeMutableBytes { DTypeConversion.store(src, as: dtype, into: $0) } }
            return out
        }
        func codes16(exponentMask: UInt16, quietBit: UInt16) -> [UInt8] {
            var bytes: [UInt8] = []
            for code in 0...0xFFFF {
                let c = UInt16(code)
                let isNaN = (c & exponentMask) == exponentMask && (c & ~exponentMask & 0x7FFF) != 0
                if isNaN && (c & quietBit) == 0 { continue }   // signalling NaNs are left out
                bytes += [UInt8(c & 0xFF), UInt8(c >> 8)]
            }
            return bytes
        }
        let f16 = codes16(exponentMask: 0x7C00, quietBit: 0x0200)
        let bf16 = codes16(exponentMask: 0x7F80, quietBit: 0x0040)
        XCTAssertEqual(roundTrip(.F16, f16), f16)
        XCTAssertEqual(roundTrip(.BF16, bf16), bf16)
        let bytes8 = (0...255).map(UInt8.init)
        for dtype in [DType.U8, .I8] { XCTAssertEqual(roundTrip(dtype, bytes8), bytes8, "\(dtype)") }
        let i16: [UInt8] = (0...0xFFFF).flatMap { (c: Int) -> [UInt8] in [UInt8(c & 0xFF), UInt8(c >> 8)] }
        XCTAssertEqual(roundTrip(.I16, i16), i16)
        let bools: [UInt8] = [0, 1, 1, 0]
        XCTAssertEqual(roundTrip(.BOOL, bools), bools)
        var rng = seededGenerator(202)
        let floats: [Float] = (0..<4096).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng)) }
            .filter { !$0.isNaN } + [.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        let f32 = floats.withUnsafeBytes { Array($0) }
        XCTAssertEqual(roundTrip(.F32, f32), f32)
        let f64 = floats.map(Double.init).withUnsafeBytes { Array($0) }
        XCTAssertEqual(roundTrip(.F64, f64), f64)
        let ints: [Int] = (-(1 << 24)...(1 << 24)).filter { $0 % 977 == 0 } + [-(1 << 24), 1 << 24]
        let i32 = ints.map(Int32.init).withUnsafeBytes { Array($0) }
        let i64 = (ints.map(Int64.init) + [Int64.min, 9223371487098961920]).withUnsafeBytes { Array($0) }
        XCTAssertEqual(roundTrip(.I32, i32), i32)
        XCTAssertEqual(roundTrip(.I64, i64), i64)
    }

    func testIntegerStoreRoundsHalfToEvenAndSaturates() {
        let x: [Float] = [2.5, -2.5, 3.5, 1e30, -1e30, .nan, .infinity, -.infinity, 0.49]
        XCTAssertEqual(Tensor(floats: x, shape: [9], dtype: .I8).floats(), [2, -2, 4, 127, -128, 0, 127, -128, 0])
        XCTAssertEqual(Tensor(floats: x, shape: [9], dtype: .U8).floats(), [2, 0, 4, 255, 0, 0, 255, 0, 0])
        XCTAssertEqual(Tensor(floats: x, shape: [9], dtype: .I16).floats(), [2, -2, 4, 32767, -32768, 0, 32767, -32768, 0])
        let i64 = Tensor(floats: [1e19, -1e19, 9.3e18], shape: [3], dtype: .I64)
        XCTAssertEqual(i64.elements(as: Int64.self), [9223371487098961920, Int64.min, 9223371487098961920])
        let i32 = Tensor(floats: [3e9, -3e9], shape: [2], dtype: .I32)
        XCTAssertEqual(i32.elements(as: Int32.self), [2147483520, Int32.min])
        XCTAssertEqual(Tensor(floats: [0, -0.0, 2, .nan], shape: [4], dtype: .BOOL).floats(), [0, 0, 1, 1])
    }

    func testFloat8KnownCodes() {
        let e4m3 = DTypeConversion.float8E4M3ToFloat
        XCTAssertEqual(e4m3(0x7E), 448)                 // largest finite
        XCTAssertEqual(e4m3(0x01), 0.001953125)         // smallest subnormal 2^-9
        XCTAssertEqual(e4m3(0x08), 0.015625)            // smallest normal 2^-6
        XCTAssertEqual(e4m3(0xB8), -1)
        XCTAssertTrue(e4m3(0x7F).isNaN && e4m3(0xFF).isNaN)
        let e5m2 = DTypeConversion.float8E5M2ToFloat
        XCTAssertEqual(e5m2(0x7B), 57344)
        XCTAssertEqual(e5m2(0x7C), .infinity)
        XCTAssertEqual(e5m2(0x01), 1.5258789e-05)       // 2^-16
        XCTAssertTrue(e5m2(0x7D).isNaN)
    }

    /// The blocked, parallel `convert` equals load-then-store for every pair of dtypes, across chunk edges.
    func testConvertMatchesLoadThenStoreForEveryDTypePair() {
        let saved = DTypeConversion.parallelThreshold
        DTypeConversion.parallelThreshold = 1000
        defer { DTypeConversion.parallelThreshold = saved }
        let n = 20_011
        var rng = seededGenerator(203)
        for from in DType.allCases {
            let raw = (0..<n * from.byteSize).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let source = raw.withUnsafeBytes { Tensor(dtype: from, shape: [n], bytes: $0) }
            for to in DType.allCases where to.isWritableFromFloat && to != from {   // same type: a plain copy
                let direct = source.converted(to: to)
                let viaFloats = Tensor(floats: source.floats(), shape: [n], dtype: to)
                XCTAssertEqual(direct.elements(as: UInt8.self), viaFloats.elements(as: UInt8.self), "\(from) → \(to)")
            }
        }
    }

    func testZeroSizeAndScalarTensors() {
        for shape in [[0], [2, 0, 3], []] {
            let count = shape.reduce(1, *)
            let t = Tensor(floats: [Float](repeating: 1.5, count: count), shape: shape, dtype: .BF16)
            XCTAssertEqual(t.byteCount, count * 2)
            XCTAssertEqual(t.floats(), [Float](repeating: 1.5, count: count))
            XCTAssertEqual(t.converted(to: .F16).floats(), t.floats())
            XCTAssertEqual(Tensor.zeros(shape, dtype: .I32).floats(), [Float](repeating: 0, count: count))
        }
    }
}
