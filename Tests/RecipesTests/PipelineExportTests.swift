import XCTest
import Checkpoints
import Evaluation
import Models
import Passes
import Reports
@testable import Recipes
import TestSupport

/// `output.export`: GGUF files written beside the safetensors, re-read and evaluated in the report.
final class PipelineExportTests: XCTestCase {
    func testGGUFExportsOfAPrunedModelAreWrittenReadBackAndEvaluated() throws {
        let scratch = NSTemporaryDirectory() + "whittle-export-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let json = """
        {"version": 1, "model": "\(Fixtures.path("models/stories260K"))",
         "output": {"path": "\(scratch)/out", "export": ["safetensors", "gguf:q8_0", "gguf:f32"]},
         "calibration": {"data": "\(Fixtures.path("eval/stories260k_samples.tokens"))", "samples": 4, "seq_len": 64, "seed": 0},
         "evaluation": [{"name": "ppl", "data": "\(Fixtures.path("eval/stories260k_samples.tokens"))", "metric": "perplexity", "seq_len": 64}],
         "passes": [{"pass": "finercut", "remove_ratio": 0.2}]}
        """
        let recipe = try Recipe.parse(Data(json.utf8))
        XCTAssertEqual(recipe.ggufExports, [.q8_0, .f32])
        let result = try Pipeline(recipe: recipe).run()
        let exports = try XCTUnwrap(result.report.exports)
        XCTAssertEqual(exports.map(\.file), ["model-q8_0.gguf", "model-f32.gguf"])
        let written = try Checkpoint(path: scratch + "/out")
        let spec = recipe.evaluation[0]
        for e in exports {
            let path = scratch + "/out/" + e.file
            XCTAssertEqual(e.bytes, try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            let store = try GGUFTensorStore(path: path)
            XCTAssertEqual(store.config["num_hidden_layers"] as? Int, written.config["num_hidden_layers"] as? Int)
            let again = try evaluate(spec, model: try TransformerModel.loadCompressed(from: store), encoder: nil, labels: nil)
            XCTAssertEqual(try XCTUnwrap(e.metrics.first?.compressed), again.value, accuracy: 1e-9 * again.value)
        }
        // The F32 file computes what the safetensors output computes (zeroed sublayers as zeros).
        let f32 = try XCTUnwrap(exports.last?.metrics.first?.compressed), folder = try XCTUnwrap(result.report.comparisons.first?.compressed)
        XCTAssertEqual(f32, folder, accuracy: 1e-4 * folder)
        XCTAssertTrue(try String(contentsOfFile: scratch + "/out/report.md", encoding: .utf8).contains("## Exported files"))
        let normalized = try XCTUnwrap(Fixtures.readJSON(scratch + "/out/recipe.json") as? [String: Any])
        XCTAssertEqual((normalized["output"] as? [String: Any])?["export"] as? [String], ["safetensors", "gguf:q8_0", "gguf:f32"])
    }

    func testExportEntriesAreChecked() {
        for (export, message) in [("[\"gguf:q3_k\"]", "output.export[0]: expected \"safetensors\" or \"gguf:<type>\" with type one of f32, f16, bf16, q8_0, q4_0, q4_1, q4_k_m"),
                                  ("[]", "output.export: expected a non-empty list such as [\"safetensors\", \"gguf:q4_k_m\"]"),
                                  ("[\"gguf:q8_0\", \"gguf:q8_0\"]", "output.export[1]: 'gguf:q8_0' is listed twice")] {
            let json = "{\"version\": 1, \"model\": \"m\", \"output\": {\"path\": \"o\", \"export\": \(export)}, \"passes\": []}"
            XCTAssertThrowsError(try Recipe.parse(Data(json.utf8))) { XCTAssertEqual("\($0)", message) }
        }
    }
}

/// A `.gguf` file as the recipe's model: read through `GGUFTensorStore`, tokenized from its metadata.
final class PipelineGGUFInputTests: XCTestCase {
    func testRecipeRunsOnAGGUFModelAndExportsAgain() throws {
        let scratch = NSTemporaryDirectory() + "whittle-gguf-input-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let folder = Fixtures.path("models/shakespeare-llama")
        try GGUFExport.write(try Checkpoint(path: folder), to: scratch + "/in.gguf", type: .f32, tokenizerFolder: folder)
        let text = try String(contentsOfFile: Fixtures.path("data/shakespeare-valid.txt"), encoding: .utf8)
        let data = scratch + "/valid-head.txt"
        try String(text.prefix(3000)).write(toFile: data, atomically: true, encoding: .utf8)
        let json = """
        {"version": 1, "model": "\(scratch)/in.gguf", "output": {"path": "\(scratch)/out", "export": ["gguf:q8_0"]},
         "evaluation": [{"name": "ppl", "data": "\(data)", "metric": "perplexity", "seq_len": 64}],
         "passes": [{"pass": "int8", "scheme": "dynamic"}]}
        """
        let result = try Pipeline(recipe: try Recipe.parse(Data(json.utf8))).run()
        // The input's perplexity is the folder model's: same weights, same tokenizer (rebuilt from the metadata).
        let fromFolder = try EvaluationModel(path: folder).evaluate(try Recipe.parse(Data(json.utf8)).evaluation[0])
        XCTAssertEqual(try XCTUnwrap(result.report.comparisons.first?.original), fromFolder.value, accuracy: 1e-6 * fromFolder.value)
        let files = try FileManager.default.contentsOfDirectory(atPath: scratch + "/out")
        XCTAssertTrue(files.contains("tokenizer.json") && files.contains("model-q8_0.gguf") && files.contains("model.safetensors"), "\(files)")
        let exported = try GGUFFile(path: scratch + "/out/model-q8_0.gguf")
        XCTAssertEqual(exported.metadata["tokenizer.ggml.tokens"]?.array?.count, 1024, "the input's tokenizer carries over")
    }
}
