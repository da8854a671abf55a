import Kernels
import TestSupport
import XCTest

/// The QAT quantizers against PyTorch restatements of TI/TernaryBERT's `TwnQuantizer` and `SymQuantizer`
/// with the clipped straight-through backward (fixtures/quant/fake_quant_reference.json from
/// tools/reference/quant_fake.py; regenerate with `/root/venv/bin/python tools/reference/quant_fake.py`).
/// torch sums in Float32 and writes round(x·s)/s, so values agree to 1e-6; gradients exactly.
final class FakeQuantizerTorchTests: XCTestCase {
    func testTernaryAndSymmetricMatchTorchIncludingTheClippedGradient() throws {
        let path = Fixtures.path("quant/fake_quant_reference.json")
        guard let reference = try Fixtures.readJSON(path) as? [String: Any] else {
            return XCTFail("\(path) is not a JSON object: regenerate it with tools/reference/quant_fake.py")
        }
        func floats(_ v: Any?) -> [Float] { (v as? [Double] ?? []).map(Float.init) }
        let rows = reference["rows"] as! Int, cols = reference["cols"] as! Int, clip = Float(reference["clip"] as! Double)
        let x = floats(reference["x"]), dout = floats(reference["dout"])
        XCTAssertEqual(x.count, rows * cols, "fixture shape")
        let cases: [(String, Quantizer)] = [
            ("twn_tensor", .ternary(.tensor, clip: clip)), ("twn_row", .ternary(.row, clip: clip)),
            ("sym8_tensor", .symmetric(bits: 8, .tensor, clip: clip)), ("sym4_row", .symmetric(bits: 4, .row, clip: clip)),
            ("sym2_row", .symmetric(bits: 2, .row, clip: clip)),
        ]
        for (name, q) in cases {
            let expected = try XCTUnwrap(reference[name] as? [String: Any], "\(name) missing: regenerate the fixture")
            var out = [Float](repeating: 0, count: x.count), grad = out
            q.fakeQuantizeForward(&out, x, rows: rows, cols: cols)
            q.fakeQuantizeBackward(dinp: &grad, dout: dout, inp: x, rows: rows, cols: cols)
            assertClose(out, floats(expected["out"]), atol: 1e-6, rtol: 1e-6, "\(name) forward")
            XCTAssertEqual(grad, floats(expected["grad"]), "\(name) straight-through gradient")
        }
        var out = [Float](repeating: 0, count: x.count)
        Quantizer.int8(.token).fakeQuantizeForward(&out, x, rows: rows, cols: cols)
        XCTAssertEqual(out, floats((reference["int8_token"] as? [String: Any])?["out"]), "int8 per token (compressed-tensors)")
    }
}
