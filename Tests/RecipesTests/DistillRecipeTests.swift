import XCTest
import Checkpoints
import Datasets
import Models
import Passes
import Reports
@testable import Recipes
import TestSupport

/// The composed recipe of issue 16: prune (finercut) then distill step-by-step into the pruned student,
/// end to end through the pipeline on shakespeare-llama (which ships a tokenizer).
final class DistillRecipeTests: XCTestCase {
    func testPruneThenDistillRunsEndToEnd() throws {
        let scratch = NSTemporaryDirectory() + "whittle-dss-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let model = try Fixtures.required("models/shakespeare-llama", regenerate: "/root/venv/bin/python tools/reference/shakespeare_train.py")
        let rows = syntheticArithmetic(count: 30, seed: 4).map { e in
            String(decoding: try! JSONSerialization.data(withJSONObject: ["input": e.input, "label": e.label, "rationale": e.rationale], options: [.sortedKeys]), as: UTF8.self)
        }
        let data = scratch + "/rationales.jsonl"
        try rows.joined(separator: "\n").write(toFile: data, atomically: true, encoding: .utf8)
        let json = #"""
        {"version": 1, "model": "\#(model)", "output": "\#(scratch)/out", "seed": 1,
         "calibration": {"data": "\#(data)", "text_field": "rationale", "samples": 4, "seq_len": 8},
         "training": {"data": "\#(data)"},
         "passes": [{"pass": "finercut", "remove_count": 2},
                    {"pass": "distill_step_by_step", "fractions": [0.5, 1], "baselines": ["label_only"], "steps": 2, "batch_size": 4,
                     "lr": 0.001, "max_new_tokens": 4, "eval_split": "validation", "report_rationales": 1}]}
        """#
        var recipe = try Recipe.parse(Data(json.utf8))
        try recipe.validate()
        let result = try Pipeline(recipe: recipe).run()
        XCTAssertEqual(result.report.passes.map(\.kind), ["finercut", "distill_step_by_step"])
        let dss = result.report.passes[1]
        XCTAssertEqual(dss.metrics["train_examples"], 27)
        XCTAssertEqual(dss.metrics["evaluated_examples"], 3, "10 % of 30 held out")
        XCTAssertNotNil(dss.metrics["accuracy_label_only_50pct"])
        // The student is the pruned model: the removed sublayers stay removed in the written config.
        let written = try Checkpoint(path: scratch + "/out")
        let whittle = try XCTUnwrap(written.config["whittle"] as? [String: Any])
        XCTAssertEqual((whittle["skipped_sublayers"] as? [Any])?.count, 2)
        let markdown = try String(contentsOfFile: scratch + "/out/report.md", encoding: .utf8)
        XCTAssertTrue(markdown.contains("| training data | DSS | label-only |"), markdown)
        XCTAssertTrue(markdown.contains("Rationales the DSS student generates"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch + "/out/charts/pass2-1.png"))
        _ = try TransformerModel.load(path: scratch + "/out")
    }
}
