import XCTest
import Whittle
import TestSupport
@testable import compress

/// `compress logits` runs a compressed output the way it is stored (here a GPT-2 NF4 checkpoint
/// saved by transformers + bitsandbytes) and writes the logits bitsandbytes' weights give.
final class LogitsCommandTests: XCTestCase {
    func testLogitsOfAnNF4CheckpointMatchBitsandbytes() throws {
        let fixture = try SafetensorsFile(path: Fixtures.path("quant/gpt2-bnb-nf4/reference.safetensors"))
        let ids = try fixture.tensor("ids").floats().map { String(Int($0)) }.joined(separator: ",")
        let out = NSTemporaryDirectory() + "whittle-logits-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: out) }
        var command = try Logits.parse(["--model", Fixtures.path("quant/gpt2-bnb-nf4"), "--ids", ids, "--out", out])
        try command.run()
        let logits = try SafetensorsFile(path: out).tensor("logits")
        XCTAssertEqual(logits.shape, [12, 64])
        assertClose(logits.floats(), try fixture.tensor("bnb.logits").floats(), atol: 2e-4, rtol: 1e-4, "compress logits vs bitsandbytes")
    }

    /// A BF16 checkpoint through the CLI runs on its 16-bit weights (`loadCompressed` → `HalfLinear`) and
    /// gives transformers' f32 logits from the same BF16 weights (tools/reference/half_weights_reference.py).
    func testLogitsOfABF16CheckpointMatchTransformers() throws {
        let fixture = try SafetensorsFile(path: try Fixtures.required("half/llama-bf16/reference.safetensors",
                                                                      regenerate: "tools/reference/half_weights_reference.py"))
        let ids = try fixture.tensor("ids"), t = ids.shape[1]
        let first = ids.elements(as: Int32.self).prefix(t).map(String.init).joined(separator: ",")
        let out = NSTemporaryDirectory() + "whittle-logits-bf16-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: out) }
        var command = try Logits.parse(["--model", Fixtures.path("half/llama-bf16"), "--ids", first, "--out", out])
        try command.run()
        let logits = try SafetensorsFile(path: out).tensor("logits")
        XCTAssertEqual(logits.shape, [t, 64])
        assertClose(logits.floats(), Array(try fixture.tensor("logits").floats().prefix(t * 64)), atol: 2e-5, rtol: 1e-5, "compress logits (BF16) vs transformers")
    }
}
