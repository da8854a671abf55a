import XCTest
import Checkpoints
import Kernels
import Models
import Passes
import Tensors
import TestSupport

/// `"lm_head"` in an nf4 pass's targets on a tied model (HeadUntying.swift): the head is untied, written
/// in the bitsandbytes NF4 layout beside the unchanged token table with `llm_int8_skip_modules` [] (so
/// transformers quantizes it), run as an `NF4Linear`. References (tools/reference/quant_nf4_head_reference.py
/// → fixtures/quant/nf4_head_reference.safetensors): transformers + bitsandbytes loading the folder this
/// test writes (lm_head checked to be a `Linear4bit`), and bitsandbytes quantizing an untied copy itself.
final class NF4HeadTests: XCTestCase {
    static let modelPath = Fixtures.path("models/stories260K")
    static let outputFolder = NSTemporaryDirectory() + "whittle-quant-nf4-head"
    static let pass = NF4Quantization(targets: ["Linear", "lm_head"])

    func writeHeadQuantized(_ pass: NF4Quantization = pass, to folder: String = outputFolder) throws -> (Checkpoint, PassReport) {
        let model = EditableCheckpoint(source: try Checkpoint(path: Self.modelPath))
        let report = try pass.apply(to: model, context: PassContext())
        try? FileManager.default.removeItem(atPath: folder)
        try CheckpointFolderWriter.write(model, to: folder)
        return (try Checkpoint(path: folder), try report.completed())
    }

    func reference() throws -> SafetensorsFile {
        try SafetensorsFile(path: try Fixtures.required("quant/nf4_head_reference.safetensors",
                                                         regenerate: "tools/reference/quant_nf4_head_reference.py"))
    }

    /// The head's tensors against those bitsandbytes saved for the same (untied) head: packed codes
    /// identical; the double-quantized absmax codes may differ by one step where the offset (a float mean
    /// summed in another order) differs by an ulp (QuantizationPassTests).
    func testTiedHeadIsUntiedAndWrittenAsBitsandbytesSavesIt() throws {
        let source = try Checkpoint(path: Self.modelPath), fixture = try reference()
        let (out, report) = try writeHeadQuantized()
        XCTAssertEqual(out.config["tie_word_embeddings"] as? Bool, false)
        let config = try XCTUnwrap(out.config["quantization_config"] as? [String: Any])
        XCTAssertEqual(config["llm_int8_skip_modules"] as? [String], [], "bitsandbytes saves [] for a quantized head; null would skip it")
        XCTAssertEqual(try out.tensor("model.embed_tokens.weight").floats(), try source.tensor("model.embed_tokens.weight").floats(),
                       "the token table stays f32 and unchanged for the embedding lookup")
        for suffix in ["", ".quant_map", ".nested_quant_map"] {
            let name = "lm_head.weight" + suffix, expected = try fixture.tensor("bnb." + name)
            XCTAssertEqual(out.spec(name)?.shape, expected.shape, name)
            XCTAssertEqual(Array(try out.tensor(name).bytes), Array(expected.bytes), name)
        }
        let absmax = Array(try out.tensor("lm_head.weight.absmax").bytes), bnbAbsmax = Array(try fixture.tensor("bnb.lm_head.weight.absmax").bytes)
        XCTAssertEqual(absmax.count, 512)
        let flipped = zip(absmax, bnbAbsmax).filter { $0 != $1 }
        XCTAssertTrue(flipped.allSatisfy { abs(Int($0) - Int($1)) == 1 } && flipped.count <= 2, "\(flipped)")
        assertClose(try out.tensor("lm_head.weight.nested_absmax").floats(), try fixture.tensor("bnb.lm_head.weight.nested_absmax").floats(),
                    atol: 0, rtol: 1e-6)
        let state = try JSONSerialization.jsonObject(with: Data(try out.tensor("lm_head.weight" + NF4Layout.stateSuffix).bytes)) as? [String: Any]
        XCTAssertEqual(state?["shape"] as? [Int], [512, 64])
        XCTAssertEqual(report.tensors.count, 5 * 7 + 1)
        XCTAssertTrue(report.notes.contains { $0.contains("lm_head.weight untied") }, "\(report.notes)")
    }

    func testLoadedModelComputesTheLogitsOnTheNF4Head() throws {
        _ = try writeHeadQuantized()
        let model = try TransformerModel.loadCompressed(from: try Checkpoint(path: Self.outputFolder))
        XCTAssertTrue(model.head.lmHead is NF4Linear, "the logits GEMV reads the NF4 head")
        XCTAssertEqual(model.embeddings.tokenParameter.value, try Checkpoint(path: Self.modelPath).tensor("model.embed_tokens.weight").floats(),
                       "the embedding lookup reads the unchanged f32 table, not the NF4 head")
    }

    /// Weight-only NF4 dequantizes exactly, so our runtime and transformers + bitsandbytes on the same
    /// folder agree to float noise at every position; bitsandbytes' own quantization of the head is as
    /// close as its own whole-model quantization is to ours (QuantizationPassTests: the absmax flips).
    func testLogitsMatchTransformersBitsandbytes() throws {
        let fixture = try reference()
        let ids = try fixture.tensor("ids").floats().map { Int($0) }
        let expected = try fixture.tensor("nf4_head.logits").floats(), bnbOwn = try fixture.tensor("bnb_head.logits").floats()
        let plain = try SafetensorsFile(path: try Fixtures.required("quant/checkpoint_reference.safetensors",
                                                                      regenerate: "tools/reference/quant_checkpoints.py")).tensor("nf4.logits").floats()
        _ = try writeHeadQuantized()
        let model = try TransformerModel.loadCompressed(from: try Checkpoint(path: Self.outputFolder))
        let logits = try model.forward(ModelInput(tokens: [ids])).logits
        assertClose(logits, expected, atol: 2e-4, rtol: 1e-4, "ours vs transformers + bitsandbytes on our folder")
        XCTAssertLessThan(relativeError(bnbOwn, logits), 0.01, "ours vs bitsandbytes' own quantization of the untied head")
        XCTAssertGreaterThan(relativeError(plain, expected), 0.01, "the NF4 head moves the logits (vs the f32 head)")
    }

    /// A tied head kept in f32 while other modules are skipped: a non-null skip list turns off
    /// transformers' default skips, so the head must be named in it (else bitsandbytes would quantize
    /// the tied table's alias). With nothing skipped the list stays null, as transformers saves it.
    func testTiedHeadKeptInFloatIsNamedInANonEmptySkipList() throws {
        func skipList(_ pass: NF4Quantization) throws -> Any? {
            let model = EditableCheckpoint(source: try Checkpoint(path: Self.modelPath))
            _ = try pass.apply(to: model, context: PassContext())
            XCTAssertNil(model.spec("lm_head.weight"))
            return (model.config["quantization_config"] as? [String: Any])?["llm_int8_skip_modules"]
        }
        XCTAssertTrue(try skipList(NF4Quantization()) is NSNull)
        XCTAssertEqual(try skipList(NF4Quantization(ignore: ["model.layers.0.mlp.down_proj"])) as? [String],
                       ["model.layers.0.mlp.down_proj", "lm_head"])
    }

    func testHeadBothTargetedAndIgnoredIsRefused() throws {
        let model = EditableCheckpoint(source: try Checkpoint(path: Self.modelPath))
        XCTAssertThrowsError(try NF4Quantization(targets: ["Linear", "lm_head"], ignore: ["lm_head"]).apply(to: model, context: PassContext())) { error in
            XCTAssertEqual(error as? PassError, PassError("nf4.targets", "\"lm_head\" is both a target and ignored"))
        }
        XCTAssertNil(model.spec("lm_head.weight"), "nothing was changed")
    }

    /// Our GPT-2 runtime always ties the head (FamilyConfigs), so untying it would write a file whose
    /// head transformers quantizes but we would not run: refused, for both quantization passes.
    func testGPT2HeadTargetIsRefused() throws {
        let source = try Checkpoint(path: Fixtures.path("models-reference/gpt2"))
        let expected = #""lm_head" on GPT-2 is not supported: Whittle runs GPT-2's head tied to the token table, "#
            + #"so an untied quantized head would not be used; drop "lm_head" from targets"#
        let passes: [(String, any Pass)] = [("nf4", Self.pass), ("int8", Int8Quantization(targets: ["lm_head"]))]
        for (kind, pass) in passes {
            let model = EditableCheckpoint(source: source)
            XCTAssertThrowsError(try pass.apply(to: model, context: PassContext())) { error in
                XCTAssertEqual(error as? PassError, PassError("\(kind).targets", expected))
            }
            XCTAssertNil(model.spec("lm_head.weight"), "nothing was changed")
        }
    }

    func testDryRunPlanCountsTheUntiedHead() throws {
        let plan = try Self.pass.plan(for: try Checkpoint(path: Self.modelPath))
        XCTAssertTrue(plan.touchedTensors.contains("lm_head.weight"))
        XCTAssertEqual(plan.touchedTensors.count, 5 * 7 + 1)
    }
}
