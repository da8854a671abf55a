import XCTest
import Checkpoints
import Kernels
import Models
import Passes
import Tensors
import TestSupport

/// `"lm_head"` in an int8 pass's targets on a tied model (HeadUntying.swift): the head is untied, written
/// as int8 beside the unchanged token table, run as a `W8A8Linear`, and loaded by transformers +
/// compressed-tensors as a quantized module (tools/reference/quant_head_reference.py →
/// fixtures/quant/int8_head_reference.safetensors, from the folder this test writes).
final class QuantizedHeadTests: XCTestCase {
    static let modelPath = Fixtures.path("models/stories260K")
    static let outputFolder = NSTemporaryDirectory() + "whittle-quant-int8-head"
    static let pass = Int8Quantization(targets: ["Linear", "lm_head"])

    func writeHeadQuantized() throws -> (Checkpoint, PassReport) {
        let model = EditableCheckpoint(source: try Checkpoint(path: Self.modelPath))
        let report = try Self.pass.apply(to: model, context: PassContext())
        try? FileManager.default.removeItem(atPath: Self.outputFolder)
        try CheckpointFolderWriter.write(model, to: Self.outputFolder)
        return (try Checkpoint(path: Self.outputFolder), try report.completed())
    }

    func testTiedHeadIsUntiedAndWrittenAsInt8BesideTheTable() throws {
        let source = try Checkpoint(path: Self.modelPath)
        let (out, report) = try writeHeadQuantized()
        XCTAssertEqual(out.config["tie_word_embeddings"] as? Bool, false)
        XCTAssertEqual(out.spec("lm_head.weight").map { [$0.dtype.rawValue] + $0.shape.map(String.init) }, ["I8", "512", "64"])
        XCTAssertEqual(out.spec("lm_head.weight_scale")?.shape, [512, 1])
        XCTAssertEqual(try out.tensor("model.embed_tokens.weight").floats(), try source.tensor("model.embed_tokens.weight").floats(),
                       "the token table stays f32 and unchanged for the embedding lookup")
        let ignore = (out.config["quantization_config"] as? [String: Any])?["ignore"] as? [String]
        XCTAssertEqual(ignore, [], "lm_head is quantized, so compressed-tensors must not skip it")
        XCTAssertEqual(report.tensors.count, 5 * 7 + 1)
        XCTAssertTrue(report.notes.contains { $0.contains("lm_head.weight untied") }, "\(report.notes)")
        // The head's codes are the token table's per-row int8 quantization.
        let (q, scale, _) = Int8Layout.quantize(try source.tensor("model.embed_tokens.weight"))
        XCTAssertEqual(try out.tensor("lm_head.weight").elements(as: Int8.self), q)
        XCTAssertEqual(try out.tensor("lm_head.weight_scale").floats(), scale)
    }

    func testLoadedModelComputesTheLogitsOnTheInt8Head() throws {
        _ = try writeHeadQuantized()
        let model = try TransformerModel.loadCompressed(from: try Checkpoint(path: Self.outputFolder))
        XCTAssertTrue(model.head.lmHead is W8A8Linear, "the logits GEMV reads the int8 head")
        XCTAssertEqual(model.embeddings.tokenParameter.value, try Checkpoint(path: Self.modelPath).tensor("model.embed_tokens.weight").floats(),
                       "the embedding lookup reads the unchanged f32 table, not the int8 head")
    }

    /// Same statistical check as the int8 pass's (QuantizationPassTests: per-token activation rounding can
    /// flip after attention mixes positions), plus position 0 to float noise: it goes through every
    /// quantized linear, the int8 head included, with no flip possible before it.
    func testLogitsMatchTransformersCompressedTensors() throws {
        let fixture = try SafetensorsFile(path: try Fixtures.required("quant/int8_head_reference.safetensors",
                                                                       regenerate: "tools/reference/quant_head_reference.py"))
        let ids = try fixture.tensor("ids").floats().map { Int($0) }
        let expected = try fixture.tensor("int8_head.logits").floats(), untied = try fixture.tensor("int8.logits").floats()
        _ = try writeHeadQuantized()
        let model = try TransformerModel.loadCompressed(from: try Checkpoint(path: Self.outputFolder))
        let logits = try model.forward(ModelInput(tokens: [ids])).logits
        let vocab = 512
        assertClose(Array(logits[0..<vocab]), Array(expected[0..<vocab]), atol: 1e-4, rtol: 1e-4)
        let ours = relativeError(expected, logits), headEffect = relativeError(untied, expected)
        XCTAssertLessThan(ours, 0.03, "ours vs transformers \(ours)")
        XCTAssertGreaterThan(relativeError(Array(untied[0..<vocab]), Array(logits[0..<vocab])), 1e-3,
                             "the int8 head moves the logits (transformers: \(headEffect) over all positions)")
    }

    func testHeadBothTargetedAndIgnoredIsRefused() throws {
        let model = EditableCheckpoint(source: try Checkpoint(path: Self.modelPath))
        XCTAssertThrowsError(try Int8Quantization(targets: ["Linear", "lm_head"], ignore: ["lm_head"]).apply(to: model, context: PassContext())) { error in
            XCTAssertEqual(error as? PassError, PassError("int8.targets", "\"lm_head\" is both a target and ignored"))
        }
    }

    func testDryRunPlanCountsTheUntiedHead() throws {
        let plan = try Self.pass.plan(for: try Checkpoint(path: Self.modelPath))
        XCTAssertTrue(plan.touchedTensors.contains("lm_head.weight"))
        XCTAssertEqual(plan.touchedTensors.count, 5 * 7 + 1)
    }
}
