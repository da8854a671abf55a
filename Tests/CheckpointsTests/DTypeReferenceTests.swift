import XCTest
import Checkpoints
import Tensors
import TestSupport

/// Our conversions against PyTorch's, bit for bit
/// (fixtures/safetensors/dtype_reference.safetensors from tools/reference/safetensors_dtypes.py).
final class DTypeReferenceTests: XCTestCase {
    var reference: SafetensorsFile!

    override func setUpWithError() throws {
        reference = try SafetensorsFile(path: Fixtures.path("safetensors/dtype_reference.safetensors"))
        XCTAssertEqual(reference.metadata["generator"], "tools/reference/safetensors_dtypes.py")
    }

    func words<T>(_ name: String, as: T.Type) throws -> [T] {
        try reference.tensor(name).elements(as: T.self)
    }

    /// Indices where `ours` and `torch` differ; NaNs only need to be NaN on both sides when `nanBits` is false.
    func mismatches(_ ours: [UInt16], _ torch: [UInt16], decode: (UInt16) -> Float, nanBits: Bool) -> [Int] {
        zip(ours, torch).enumerated().compactMap { i, pair in
            let (a, b) = pair
            if !nanBits, decode(a).isNaN, decode(b).isNaN { return nil }
            return a == b ? nil : i
        }
    }

    func testBFloat16RoundingMatchesTorch() throws {
        let inputs = try reference.tensor("f32_inputs")
        let ours = inputs.converted(to: .BF16).elements(as: UInt16.self)
        let torch = try words("bf16_torch", as: UInt16.self)
        XCTAssertEqual(ours.count, 6225)
        // torch's CPU kernel writes every NaN as 0xFFFF; we keep the sign (still a NaN): compare NaN-ness there.
        let bad = mismatches(ours, torch, decode: { Float(bitPattern: UInt32($0) << 16) }, nanBits: false)
        XCTAssertEqual(bad, [], "first: \(bad.prefix(3).map { (inputs.floats()[$0].bitPattern, ours[$0], torch[$0]) })")
    }

    func testFloat16RoundingMatchesTorchIncludingNaNPayloads() throws {
        let inputs = try reference.tensor("f32_inputs")
        let ours = inputs.converted(to: .F16).elements(as: UInt16.self)
        let torch = try words("f16_torch", as: UInt16.self)
        let bad = mismatches(ours, torch, decode: DTypeConversion.float16ToFloat, nanBits: true)
        XCTAssertEqual(bad, [], "first: \(bad.prefix(3).map { (inputs.floats()[$0].bitPattern, ours[$0], torch[$0]) })")
    }

    func testEveryFloat16CodeDecodesLikeTorch() throws {
        let ours = try reference.tensor("f16_codes").floats().map(\.bitPattern)
        let torch = try words("f16_codes_f32", as: UInt32.self)
        XCTAssertEqual(ours.count, 65536)
        XCTAssertEqual(zip(ours, torch).filter { $0 != $1 }.count, 0)
    }

    func testEveryFloat8CodeDecodesLikeTorch() throws {
        let codes = (0...255).map(UInt8.init)
        for (dtype, name) in [(DType.F8_E4M3, "e4m3_f32"), (.F8_E5M2, "e5m2_f32")] {
            let ours = codes.withUnsafeBytes { Tensor(dtype: dtype, shape: [256], bytes: $0) }.floats()
            let torch = try reference.tensor(name).floats()
            let bad = (0..<256).filter { !(ours[$0] == torch[$0] && ours[$0].sign == torch[$0].sign) && !(ours[$0].isNaN && torch[$0].isNaN) }
            XCTAssertEqual(bad, [], "\(dtype) codes decoding differently: \(bad.map { (ours[$0], torch[$0]) })")
            XCTAssertEqual(ours.filter(\.isNaN).count, dtype == .F8_E4M3 ? 2 : 6, "\(dtype) NaN codes")
        }
    }
}
