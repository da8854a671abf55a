import TestSupport
import XCTest
import CSIMD
@testable import Tensors

/// CSIMD's AVX2/F16C loops against the Swift scalar functions (themselves checked against Swift's
/// Float16 and PyTorch): every F16 and BF16 code, and floats covering ties, subnormals, overflow
/// and NaN payloads. Lengths are not multiples of 16 so the Swift tail runs too.
final class SIMDConversionTests: XCTestCase {
    /// On a CPU with AVX2 and F16C the vector paths must be the ones running, or these tests would
    /// compare the scalar code with itself.
    func testVectorPathsRunWhereTheCPUHasThem() throws {
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        guard flags.contains(" avx2") && flags.contains(" f16c") else { throw XCTSkip("CPU without AVX2/F16C: scalar paths only") }
        if ProcessInfo.processInfo.environment["WHITTLE_NO_SIMD"] == nil { XCTAssertEqual(csimd_available(), 1) }
    }

    let everyCode: [UInt16] = (0...0xFFFF).map(UInt16.init) + [0x7C01, 0x8001, 0x3C00]   // 65,539: ragged tail

    func testEveryHalfAndBFloat16CodeDecodesLikeTheScalarFunctions() {
        let halves = decode(everyCode, .F16), bfloats = decode(everyCode, .BF16)
        XCTAssertEqual(halves.indices.filter { halves[$0].bitPattern != DTypeConversion.float16ToFloat(everyCode[$0]).bitPattern }, [])
        XCTAssertEqual(bfloats.indices.filter { bfloats[$0].bitPattern != UInt32(everyCode[$0]) << 16 }, [])
    }

    func testFloatsEncodeLikeTheScalarFunctions() {
        var rng = seededGenerator(301)
        var inputs: [Float] = (0..<300_000).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng)) }
        for code in stride(from: 0, to: 0x7C00, by: 1) {      // halfway points between halves, and neighbours
            let a = Float(Float16(bitPattern: UInt16(code))), b = Float(Float16(bitPattern: UInt16(code + 1)))
            inputs += [(a + b) / 2, ((a + b) / 2).nextUp, -((a + b) / 2)]
        }
        for bits: UInt32 in [0x3F80_8000, 0x3F81_8000, 0x7F7F_FFFF, 0x7F80_0001, 0xFFA0_0000, 0x7FC0_0000, 0x8000_0001, 0x0000_0001] {
            inputs.append(Float(bitPattern: bits))
        }
        inputs += [65504, 65519.996, 65520, .infinity, -.infinity, 0, -0.0, .leastNormalMagnitude, 2.9802322e-08]
        let halves = encode(inputs, .F16), bfloats = encode(inputs, .BF16)
        XCTAssertEqual(inputs.indices.filter { halves[$0] != DTypeConversion.floatToFloat16(inputs[$0]) }.map { inputs[$0].bitPattern }, [])
        XCTAssertEqual(inputs.indices.filter { bfloats[$0] != DTypeConversion.floatToBFloat16(inputs[$0]) }.map { inputs[$0].bitPattern }, [])
    }

    /// BF16 ⇄ F16 directly (in registers) equals decoding to Float and encoding with the scalar functions.
    func testHalfToBFloat16AndBackEqualsGoingThroughFloat() {
        let toHalf = convert(everyCode, .BF16, .F16), toBFloat = convert(everyCode, .F16, .BF16)
        XCTAssertEqual(everyCode.indices.filter {
            toHalf[$0] != DTypeConversion.floatToFloat16(Float(bitPattern: UInt32(everyCode[$0]) << 16))
        }, [])
        XCTAssertEqual(everyCode.indices.filter {
            toBFloat[$0] != DTypeConversion.floatToBFloat16(DTypeConversion.float16ToFloat(everyCode[$0]))
        }, [])
    }

    private func decode(_ codes: [UInt16], _ dtype: DType) -> [Float] {
        codes.withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: codes.count) { out, n in DTypeConversion.load(raw, as: dtype, into: out); n = codes.count }
        }
    }

    private func encode(_ values: [Float], _ dtype: DType) -> [UInt16] {
        var out = [UInt16](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { src in out.withUnsafeMutableBytes { DTypeConversion.store(src, as: dtype, into: $0) } }
        return out
    }

    private func convert(_ codes: [UInt16], _ from: DType, _ to: DType) -> [UInt16] {
        var out = [UInt16](repeating: 0, count: codes.count)
        codes.withUnsafeBytes { src in out.withUnsafeMutableBytes { DTypeConversion.convert(src, from: from, into: $0, to: to) } }
        return out
    }
}
