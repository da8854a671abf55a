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
}
