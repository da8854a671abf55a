import XCTest
import Checkpoints
import Datasets
import Evaluation
import Models
import Passes
import Reports
@testable import Recipes
import TestSupport

/// End-to-end runs of the pipeline on the shipped stories260K model (token-id data, no tokenizer).
final class PipelineTests: XCTestCase {
    var scratch: String!

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "whittle-pipeline-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: scratch)
    }

    func recipe(output: String, passes: [any Pass] = [NF4Quantization()]) -> Recipe {
        let source = DataSource(data: Fixtures.path("eval/stories260k_samples.tokens"), seqLen: 128)
        return Recipe(model: Fixtures.path("models/stories260K"), output: output,
                      evaluation: [EvaluationSpec(name: "held-out", metric: .perplexity, source: source)], passes: passes)
    }

    func digest(_ folder: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            out[name] = SHA256.hex(Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))))
        }
        return out
    }

    func testRunWritesALoadableFolderWhoseReportMatchesARecomputationAndLeavesTheInputUntouched() throws {
        let inputBefore = try digest(Fixtures.path("models/stories260K"))
        let output = scratch + "/out"
        let result = try Pipeline(recipe: recipe(output: output)).run()
        XCTAssertEqual(try digest(Fixtures.path("models/stories260K")), inputBefore, "the input must not change")

        let files = Set(try FileManager.default.contentsOfDirectory(atPath: output))
        for name in ["config.json", "model.safetensors", "recipe.json", "report.json", "report.md", "report.html", "generation_config.json"] {
            XCTAssertTrue(files.contains(name), "missing \(name)")
        }
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: scratch).contains { $0.contains(".tmp-") })

        // The report's "compressed" perplexity is what evaluating the written folder gives.
        let report = try Report.decode(Data(contentsOf: URL(fileURLWithPath: output + "/report.json")))
        XCTAssertEqual(report, result.report)
        let written = try TransformerModel.loadCompressed(from: Checkpoint(path: output))
        let spec = recipe(output: output).evaluation[0]
        let again = try evaluate(spec, model: written, encoder: nil, labels: nil)
        let compressed = try XCTUnwrap(report.comparisons.first?.compressed)
        XCTAssertEqual(again.value, compressed, accuracy: 1e-9 * compressed)
        // The original value is transformers' perplexity on the same windows (fixtures/eval, 128-token windows).
        let reference = try XCTUnwrap(Fixtures.readJSON(Fixtures.path("eval/stories260k_perplexity.json")) as? [String: Any])
        let cases = try XCTUnwrap(reference["cases"] as? [[String: Any]])
        let expected = try XCTUnwrap(cases.first?["perplexity"] as? Double)
        XCTAssertEqual(try XCTUnwrap(report.comparisons.first?.original), expected, accuracy: expected * 1e-3)
        // NF4 shrinks the file: 32-bit weights → ~4.1 bits for the quantized ones.
        XCTAssertLessThan(try XCTUnwrap(report.size).compressedBytes, report.size!.originalBytes / 2)
    }

    /// A composed recipe is evaluated after every pass: the first stage is what the first pass alone
    /// gives (a separate one-pass run), the last is the compressed column.
    func testComposedRecipeReportsTheMetricsAfterEachPass() throws {
        func pruning(_ output: String, _ passes: [any Pass]) -> Recipe {
            var r = recipe(output: output, passes: passes)
            r.calibration = DataSource(data: Fixtures.path("eval/stories260k_samples.tokens"), samples: 4, seqLen: 64, seed: 0)
            return r
        }
        let composed = try Pipeline(recipe: pruning(scratch + "/both", [FinerCutPruning(removeRatio: 0.25), NF4Quantization()])).run()
        let stages = try XCTUnwrap(composed.report.stages)
        XCTAssertEqual(stages.map(\.pass), ["finercut", "nf4"])
        XCTAssertEqual(stages[1].values, composed.report.comparisons.map(\.compressed))
        let alone = try Pipeline(recipe: pruning(scratch + "/finercut", [FinerCutPruning(removeRatio: 0.25)])).run()
        XCTAssertNil(alone.report.stages, "one pass: the before/after table says it all")
        XCTAssertEqual(stages[0].values, alone.report.comparisons.map(\.compressed))
        XCTAssertNotEqual(stages[0].values, stages[1].values, "NF4 moves the metric")
        XCTAssertTrue(composed.report.markdown().contains("| metric | original | after 1. finercut | after 2. nf4 |"))
    }

    /// Training then quantizing (the quickstart's shape): the outlier statistics after the run are
    /// taken on the model as it runs (NF4 weights), not on its packed tensors read as floats.
    func testTrainingThenQuantizingReportsOutliersOfTheQuantizedModel() throws {
        var finetune = FineTuning()
        finetune.lr = 1e-3; finetune.steps = 2; finetune.batchSize = 2
        var r = recipe(output: scratch + "/ft-nf4", passes: [finetune, NF4Quantization()])
        r.training = DataSource(data: Fixtures.path("eval/stories260k_samples.tokens"), samples: 4, seqLen: 32, seed: 0)
        let report = try Pipeline(recipe: r).run().report
        let before = try XCTUnwrap(report.outliersBefore), after = try XCTUnwrap(report.outliersAfter)
        XCTAssertNotEqual(before.maxInfinityNorm, after.maxInfinityNorm, "training and NF4 change the activations")
        XCTAssertEqual(report.stages?.map(\.pass), ["finetune", "nf4"])
    }

    func testInt8OutputIsEvaluatedAsItRunsWithQuantizedActivations() throws {
        let output = scratch + "/int8"
        let result = try Pipeline(recipe: recipe(output: output, passes: [Int8Quantization()])).run()
        let spec = recipe(output: output).evaluation[0]
        let reported = try XCTUnwrap(result.report.comparisons.first?.compressed)
        // `compress eval` reads the same folder the same way.
        let evaluated = try EvaluationModel(path: output).evaluate(spec).value
        XCTAssertEqual(evaluated, reported, accuracy: 1e-9 * reported)
        // W8A8 quantizes activations per token: dequantized weights alone give a different number.
        let weightsOnly = try evaluate(spec, model: TransformerModel.load(from: QuantizedTensorStore(Checkpoint(path: output))),
                                       encoder: nil, labels: nil).value
        XCTAssertNotEqual(weightsOnly, reported)
        XCTAssertEqual(weightsOnly, reported, accuracy: 0.05 * reported, "both stay close to each other")
    }

    func testNormalizedRecipeReadsBackToTheSameRecipe() throws {
        let output = scratch + "/out"
        _ = try Pipeline(recipe: recipe(output: output)).run()
        let saved = try Data(contentsOf: URL(fileURLWithPath: output + "/recipe.json"))
        var reparsedJSON = try JSONDecoder().decode(JSONValue.self, from: saved).object!
        reparsedJSON["fingerprint"] = nil
        let reparsed = try Recipe.parse(try JSONValue.object(reparsedJSON).data())
        XCTAssertEqual(try reparsed.normalized(fingerprint: nil), try recipe(output: output).normalized(fingerprint: nil))
    }

    func testExistingOutputIsRefusedWithoutForceAndReplacedWithForce() throws {
        let output = scratch + "/out"
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: output + "/note.txt"))
        XCTAssertThrowsError(try Pipeline(recipe: recipe(output: output)).run()) { error in
            XCTAssertEqual(error as? RecipeError, .outputExists(path: output))
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: output + "/note.txt"), "a refused run must not touch the folder")
        _ = try Pipeline(recipe: recipe(output: output), options: .init(force: true)).run()
        XCTAssertFalse(FileManager.default.fileExists(atPath: output + "/note.txt"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: output + "/model.safetensors"))
    }

    func testOutputInsideTheInputModelIsRefused() throws {
        let model = Fixtures.path("models/stories260K")
        XCTAssertThrowsError(try Pipeline(recipe: recipe(output: model + "/compressed")).run()) { error in
            XCTAssertEqual(error as? RecipeError, .outputInsideInput(output: model + "/compressed", input: model))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: model + "/compressed"))
    }

    func testUnwritableOutputFailsWithThePathAndLeavesNothing() throws {
        let blocker = scratch + "/file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocker))
        XCTAssertThrowsError(try Pipeline(recipe: recipe(output: blocker + "/out")).run()) { error in
            guard case let .writeFailed(path, reason)? = error as? RecipeError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasPrefix(blocker + "/out.tmp-"), path)
            XCTAssertTrue(reason.contains("cannot create the output folder"), reason)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch), ["file"])
    }

    func testFailureDuringAPassLeavesNoOutput() throws {
        // Evaluation data that does not exist fails after the temporary folder was made.
        var r = recipe(output: scratch + "/out")
        r.evaluation[0].source.data = scratch + "/missing.tokens"
        XCTAssertThrowsError(try Pipeline(recipe: r).run()) { error in
            XCTAssertEqual(error as? DatasetError, .fileNotFound(path: self.scratch + "/missing.tokens"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch), [])
    }

    func testModelFolderWithoutWeights() throws {
        let model = scratch + "/empty-model"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("models/stories260K/config.json"), toPath: model + "/config.json")
        var r = recipe(output: scratch + "/out")
        r.model = model
        XCTAssertThrowsError(try Pipeline(recipe: r).run()) { error in
            XCTAssertEqual(error as? CheckpointError, .noWeights(folder: model))
        }
    }

    func testUnsupportedArchitectureIsNamed() throws {
        let model = scratch + "/t5"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Fixtures.path("models/stories260K/model.safetensors"), toPath: model + "/model.safetensors")
        try Data(#"{"model_type": "t5", "architectures": ["T5ForConditionalGeneration"]}"#.utf8).write(to: URL(fileURLWithPath: model + "/config.json"))
        var r = recipe(output: scratch + "/out")
        r.model = model
        XCTAssertThrowsError(try Pipeline(recipe: r).run()) { error in
            guard case let .unsupportedFamily(type, architectures, supported)? = error as? ModelError else { return XCTFail("\(error)") }
            XCTAssertEqual(type, "t5")
            XCTAssertEqual(architectures, ["T5ForConditionalGeneration"])
            XCTAssertTrue(supported.contains("llama"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/out"))
    }

    func testEveryShippedRecipeValidates() throws {
        let folder = Fixtures.repoRoot + "/recipes"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") }
        XCTAssertFalse(files.isEmpty)
        for file in files { XCTAssertNoThrow(try Recipe.load(path: folder + "/" + file), file) }
    }

    /// A pass that changes activations fills the report's outlier section (§3.4) before and after;
    /// the gated output folder reloads with its gates.
    func testGatedAttentionReportHasOutliersBeforeAndAfter() throws {
        let output = scratch + "/gated"
        var pass = GatedAttention()
        pass.training.steps = 2; pass.training.batchSize = 2
        var r = recipe(output: output, passes: [pass])
        r.training = DataSource(data: Fixtures.path("eval/stories260k_samples.tokens"), seqLen: 32)
        let result = try Pipeline(recipe: r).run()
        let before = try XCTUnwrap(result.report.outliersBefore), after = try XCTUnwrap(result.report.outliersAfter)
        let layers = try TransformerModel.load(path: output).layers
        XCTAssertEqual(before.modules.count, 3 * layers.count + 1, "attention output, FFN output, block output of every layer; the final norm")
        XCTAssertEqual(after.modules.map(\.name), before.modules.map(\.name))
        XCTAssertNotEqual(after.modules.map(\.kurtosis), before.modules.map(\.kurtosis))
        XCTAssertNotNil(layers[0].attentionGate)
        XCTAssertTrue(try String(contentsOfFile: output + "/report.md", encoding: .utf8).contains("## Outliers"))
        let plain = try Pipeline(recipe: recipe(output: scratch + "/nf4")).run()
        XCTAssertNil(plain.report.outliersBefore, "no outlier section when nothing trains")
    }
}
