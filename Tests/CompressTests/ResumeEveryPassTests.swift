import XCTest
import Whittle
import TestSupport

/// Resume after a real `kill -9` for every long pass (issue 18 "Resume"): FinerCut's greedy steps,
/// the training of `qat` (both steps of the TI schedule), `gated_attention`, `clipped_softmax` and
/// `distill_step_by_step` (several runs), and the static `int8` calibration. Each pass is killed at a
/// few points; the resumed output equals the uninterrupted run's byte for byte (weights, config,
/// recipe, evaluation, the pass's curves). Tiny fixture models, seeded data.
final class ResumeEveryPassTests: KilledRunTestCase {
    static let tokens = Fixtures.path("eval/stories260k_samples.tokens")

    /// A recipe on stories260K with calibration and training token windows (seeded) and `passes`.
    func writeRecipe(_ passes: String, name: String = "recipe.json", evaluation: Bool = false, model: String? = nil,
                     data: String? = nil) throws -> String {
        let path = scratch + "/" + name
        let sections = data.map { #""training": {"data": "\#($0)"}, "calibration": {"data": "\#($0)", "text_field": "rationale", "samples": 4, "seq_len": 8}"# }
            ?? #""training": {"data": "\#(Self.tokens)", "samples": 8, "seq_len": 32, "seed": 1}, "calibration": {"data": "\#(Self.tokens)", "samples": 6, "seq_len": 32, "seed": 0}"#
        try Data("""
        {"version": 1, "model": "\(model ?? Fixtures.path("models/stories260K"))", "seed": 3, \(sections),
         \(evaluation ? #""evaluation": [{"name": "held-out", "data": "\#(Self.tokens)", "seq_len": 128}], "# : "")"passes": \(passes)}
        """.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func reference(_ recipe: String) throws -> String {
        let output = scratch + "/reference-" + URL(fileURLWithPath: recipe).deletingPathExtension().lastPathComponent
        let r = try run(try compress(), ["--recipe", recipe, "--output", output, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return output
    }

    /// What a pass reports that does not depend on timing: its series (loss curves, removal order), the
    /// tables and the metrics other than measured speed.
    func assertSamePass(_ a: String, _ b: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let ra = try Report.decode(bytes(a + "/report.json")), rb = try Report.decode(bytes(b + "/report.json"))
        for (pa, pb) in zip(ra.passes, rb.passes) {
            XCTAssertEqual(pa.series.map(\.values), pb.series.map(\.values), "\(message): \(pa.kind) series", file: file, line: line)
            XCTAssertEqual(pa.series.map(\.labels), pb.series.map(\.labels), "\(message): \(pa.kind) series labels", file: file, line: line)
            XCTAssertEqual(pa.metrics.filter { $0.key != "measured_speedup" }, pb.metrics.filter { $0.key != "measured_speedup" },
                           "\(message): \(pa.kind) metrics", file: file, line: line)
            XCTAssertEqual(pa.tables?.map(\.rows), pb.tables?.map(\.rows), "\(message): \(pa.kind) tables", file: file, line: line)
        }
    }

    func notes(_ folder: String) throws -> [String] { try Report.decode(bytes(folder + "/report.json")).passes.flatMap(\.notes) }

    /// FinerCut on stories260K: 10 greedy steps (5 layers, full order), each saved as it is chosen;
    /// killed after steps 1, 4 and 9, the resumed run takes the saved steps and evaluates only the rest.
    func testFinerCutStepsResumeAfterSIGKILL() throws {
        let recipe = try writeRecipe(#"[{"pass": "finercut", "remove_count": 3}]"#)
        let reference = try reference(recipe)
        for k in [1, 4, 9] {
            let output = scratch + "/finercut\(k)"
            let stdout = try killThenResume(recipe, output: output, variable: "WHITTLE_KILL_AFTER_ITEMS", at: k, arguments: ["--save-every", "16"])
            XCTAssertTrue(stdout.contains("): \(k) saved work items"), "every step is saved at once, whatever --save-every: \(stdout)")
            try assertSameOutput(output, reference, "finercut killed after step \(k)")
            try assertSamePass(output, reference, "finercut killed after step \(k)")
        }
    }

    /// QAT (4-bit, stochastic TI schedule so the sampler's state matters, then KD-QAT), 4 + 4 steps,
    /// saved every 2: killed in step 1 (after 3), at its end (4: the save of step 4 had not happened),
    /// early in step 2 (6: nothing of step 2 saved yet) and late (7).
    func testQATResumeAfterSIGKILLInBothSteps() throws {
        let recipe = try writeRecipe(#"[{"pass": "qat", "bits": 4, "schedule": "stochastic", "step1_steps": 4, "step2_steps": 4, "lr": 0.002, "batch_size": 2}]"#)
        let reference = try reference(recipe)
        for k in [3, 4, 6, 7] {
            let output = scratch + "/qat\(k)"
            try killThenResume(recipe, output: output, variable: "WHITTLE_KILL_AFTER_STEPS", at: k, arguments: ["--save-every", "2"])
            try assertSameOutput(output, reference, "qat killed after step \(k)")
            try assertSamePass(output, reference, "qat killed after step \(k)")
            let expected = k <= 4 ? "resumed from the training state a killed run saved (step 1 at 2 of 4)"
                : k == 6 ? "resumed from the training state a killed run saved (step 1 at 4 of 4)"
                : "resumed from the training state a killed run saved (step 1 at 4 of 4, step 2 at 2 of 4)"
            let written = try notes(output)
            XCTAssertTrue(written.contains(expected), "\(k): \(written)")
        }
        // A changed recipe (another lr) refuses to resume the killed run and says why.
        let output = scratch + "/qat-changed"
        XCTAssertTrue(try run(try compress(), ["--recipe", recipe, "--output", output, "--save-every", "2"], environment: ["WHITTLE_KILL_AFTER_STEPS": "3"]).signal)
        let changed = try writeRecipe(#"[{"pass": "qat", "bits": 4, "schedule": "stochastic", "step1_steps": 4, "step2_steps": 4, "lr": 0.003, "batch_size": 2}]"#,
                                      name: "changed.json")
        let refused = try run(try compress(), ["--recipe", changed, "--output", output, "--resume"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.hasPrefix("error: cannot resume from \(output).tmp-"), refused.stderr)
        XCTAssertTrue(refused.stderr.hasSuffix(": the recipe changed since it started (run without --resume to start afresh)\n"), refused.stderr)
    }

    /// The attention passes train through `finetune`'s loop: gated attention and clipped softmax, 6
    /// steps saved every 2, killed after steps 3 and 5 (and the gates / normaliser are in the state).
    func testAttentionPassesResumeAfterSIGKILL() throws {
        for (name, pass) in [("gated", #"{"pass": "gated_attention", "pi_init": 0.25, "lr": 0.003, "steps": 6, "batch_size": 2, "warmup_steps": 1}"#),
                             ("clipped", #"{"pass": "clipped_softmax", "alpha": 2, "lr": 0.003, "steps": 6, "batch_size": 2}"#)] {
            let recipe = try writeRecipe("[\(pass)]", name: name + ".json", evaluation: true)
            let reference = try reference(recipe)
            for k in [3, 5] {
                let output = scratch + "/\(name)\(k)"
                try killThenResume(recipe, output: output, variable: "WHITTLE_KILL_AFTER_STEPS", at: k, arguments: ["--save-every", "2"])
                try assertSameOutput(output, reference, "\(name) killed after step \(k)")
                try assertSamePass(output, reference, "\(name) killed after step \(k)")
                let written = try notes(output)
                XCTAssertTrue(written.contains("resumed at step \((k - 1) / 2 * 2) from the training state a killed run saved"), "\(written)")
            }
        }
    }

    /// Distilling step-by-step trains four runs (DSS and label-only on 50 % and 100 %) of 3 steps on
    /// shakespeare-llama (which has a tokenizer), saved every 2 steps and at each run's end; killed at the
    /// last step of run 0 (global step 3), of the run whose model is written (run 2, global step 9) and
    /// inside run 3 (global step 11). Finished runs come back from the ledger, the written model's run
    /// from its checkpoint.
    func testDistillStepByStepResumeAfterSIGKILLAcrossRuns() throws {
        let model = try Fixtures.required("models/shakespeare-llama", regenerate: "/root/venv/bin/python tools/reference/shakespeare_train.py")
        let rows = (0..<30).map { i -> String in
            let a = (i * 7) % 10, b = (i * 3) % 10
            return #"{"input": "\#(a) + \#(b)", "label": "\#(a + b)", "rationale": "add \#(a) and \#(b)"}"#
        }
        let data = scratch + "/rationales.jsonl"
        try rows.joined(separator: "\n").write(toFile: data, atomically: true, encoding: .utf8)
        let recipe = try writeRecipe(#"""
            [{"pass": "distill_step_by_step", "fractions": [0.5, 1], "baselines": ["label_only"], "steps": 3, "batch_size": 4,
              "lr": 0.001, "max_new_tokens": 3, "eval_split": "validation", "report_rationales": 1}]
            """#, model: model, data: data)
        let reference = try reference(recipe)
        for (k, resumed) in [(3, ": dss@0.5 at step 2"), (9, ": dss@0.5 finished, label_only@0.5 finished, dss@1.0 at step 2"),
                            (11, ": dss@0.5 finished, label_only@0.5 finished, dss@1.0 at step 3")] {
            let output = scratch + "/distill\(k)"
            try killThenResume(recipe, output: output, variable: "WHITTLE_KILL_AFTER_STEPS", at: k, arguments: ["--save-every", "2"])
            try assertSameOutput(output, reference, "distill killed after global step \(k)")
            try assertSamePass(output, reference, "distill killed after global step \(k)")
            let written = try notes(output)
            XCTAssertTrue(written.contains { $0.hasPrefix("resumed from the progress a killed run saved: ") && $0.hasSuffix(resumed) }, "\(k): \(written)")
        }
    }

    /// Static W8A8 calibration: each of the 6 calibration windows' batch ranges is a work item, saved
    /// every 2; killed after windows 1, 3 and 5, the resumed run folds the same ranges in the same order.
    func testStaticCalibrationResumeAfterSIGKILL() throws {
        let recipe = try writeRecipe(#"[{"pass": "int8", "scheme": "static", "observer": "percentile"}]"#)
        let reference = try reference(recipe)
        for k in [1, 3, 5] {
            let output = scratch + "/static\(k)"
            let stdout = try killThenResume(recipe, output: output, variable: "WHITTLE_KILL_AFTER_ITEMS", at: k, arguments: ["--save-every", "2"])
            if k >= 2 { XCTAssertTrue(stdout.contains("): \(k / 2 * 2) saved work items"), stdout) }
            try assertSameOutput(output, reference, "static int8 killed after window \(k)")
            try assertSamePass(output, reference, "static int8 killed after window \(k)")
        }
    }
}
