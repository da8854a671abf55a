import Checkpoints
import Datasets
import Foundation
import Models
@testable import Passes
import Tensors
import TestSupport
import Training
import XCTest

final class DistillStepByStepTests: XCTestCase {
    func store(_ name: String) throws -> EditableCheckpoint {
        _ = try Fixtures.required("training/\(name)/config.json", regenerate: "/root/venv/bin/python tools/reference/training_reference.py \(name)")
        return EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("training/\(name)")))
    }

    /// α·CE(label) + (1 − α)·CE(rationale), each over its target tokens only, and its gradients, against
    /// PyTorch autograd on the same model and sequences (tools/reference/distill_loss_reference.py).
    func testMultiTaskLossAndGradientsMatchPyTorch() throws {
        let path = try Fixtures.required("distill/multitask_loss.json", regenerate: "/root/venv/bin/python tools/reference/distill_loss_reference.py")
        let ref = try Fixtures.readJSON(path) as! [String: Any]
        func pairs(_ key: String) -> [PromptTarget] {
            (ref[key] as! [[String: [Int]]]).map { PromptTarget(prompt: $0["prompt"]!.map(Int32.init), target: $0["target"]!.map(Int32.init)) }
        }
        let labels = pairs("labels"), rationales = pairs("rationales")
        let batch = multiTaskBatch(labels: labels, rationales: rationales, padId: ref["pad"] as! Int)
        let rows = batch.targets.count / 2
        XCTAssertEqual(batch.targets[..<rows].filter { $0 >= 0 }.count, ref["label_target_tokens"] as! Int, "label task: its target tokens only")
        XCTAssertEqual(batch.targets[rows...].filter { $0 >= 0 }.count, ref["rationale_target_tokens"] as! Int)
        let trainable = try TrainableModel(try TransformerModel.load(from: try store("llama_gqa")))
        let tape = Tape()
        let alpha = Float(ref["alpha"] as! Double)
        let loss = try multiTaskLoss(trainable, batch, tape, alpha: alpha)
        XCTAssertEqual(Double(loss.value[0]), ref["loss"] as! Double, accuracy: 2e-5)
        tape.backward(from: loss)
        let grads = Dictionary(uniqueKeysWithValues: trainable.model.namedTensors(gradients: true).map { ($0.name, $0.values) })
        for (name, expected) in ref["gradients"] as! [String: [Double]] {
            let got = try XCTUnwrap(grads[name], name)
            assertClose(got, expected.map(Float.init), atol: 1e-6, rtol: 1e-3, name)
        }
        // α = 1 is the label task alone: what a single-task batch of the label rows gives.
        let labelOnly = try Trainer.supervisedLoss(trainable, promptTargetBatch(labels, padId: ref["pad"] as! Int), Tape())
        XCTAssertEqual(Double(labelOnly.value[0]), ref["ce_label"] as! Double, accuracy: 2e-5)
    }

    func testPromptTokensAndPaddingAreNeverTargets() {
        let pairs = [PromptTarget(prompt: [5, 6, 7], target: [8, 2]), PromptTarget(prompt: [5], target: [9, 9, 9, 2])]
        let b = promptTargetBatch(pairs, padId: 0)
        XCTAssertEqual(b.input.seqLen, 5)
        XCTAssertEqual(b.targets, [-100, -100, 8, 2, -100,
                                   9, 9, 9, 2, -100])
    }

    static let codec = CharacterCodec(alphabet: "0123456789+*= :\nacdeilnoprstx")

    func tinyRun(_ pass: DistillStepByStep) throws -> (PassReport, EditableCheckpoint) {
        let model = try store("llama_gqa")
        let all = syntheticArithmetic(count: 48, seed: 1)
        var context = PassContext(seed: 2)
        context.rationales = RationaleData(task: .jsonl, train: Array(all.prefix(40)), validation: [], test: Array(all.suffix(8)), parseFailures: [:])
        context.tokenizer = Self.codec
        return (try pass.apply(to: model, context: context), model)
    }

    func testTrainsDSSAndBaselinesAndReportsAccuracyAgainstDataFraction() throws {
        let pass = try JSONDecoder().decode(DistillStepByStep.self, from: Data(#"""
            {"pass": "distill_step_by_step", "fractions": [1, 0.5], "baselines": ["label_only", "standard_distillation"],
             "steps": 3, "batch_size": 4, "lr": 0.01, "max_new_tokens": 3, "report_rationales": 2}
            """#.utf8))
        let (report, model) = try tinyRun(pass)
        XCTAssertEqual(report.metrics["steps_per_run"], 3)
        for key in ["accuracy_dss_50pct", "accuracy_dss_100pct", "accuracy_label_only_50pct", "accuracy_standard_distillation_100pct"] {
            XCTAssertNotNil(report.metrics[key], key)
        }
        let accuracy = try XCTUnwrap(report.tables?.first)
        XCTAssertEqual(accuracy.header, ["training data", "DSS", "label-only", "standard distillation"])
        XCTAssertEqual(accuracy.rows.map { $0[0] }, ["50 % (20 examples)", "100 % (40 examples)"])
        XCTAssertEqual(report.tables?[1].rows.count, 2, "two generated rationales")
        XCTAssertEqual(report.series.filter { $0.title == "Accuracy" }.map(\.yLabel), ["DSS", "label-only", "standard distillation"])
        XCTAssertFalse(report.tensors.isEmpty)
        XCTAssertNotEqual(try model.tensor("lm_head.weight").floats(), try model.source.tensor("lm_head.weight").floats())
        // Deterministic: the same recipe gives the same numbers and weights.
        let (again, model2) = try tinyRun(pass)
        XCTAssertEqual(again.metrics, report.metrics)
        XCTAssertEqual(try model2.tensor("lm_head.weight").floats(), try model.tensor("lm_head.weight").floats())
    }

    /// `student`: the written model is the given checkpoint trained, not the pass's input model.
    func testStudentCheckpointReplacesTheInputModel() throws {
        var pass = DistillStepByStep()
        pass.student = Fixtures.path("training/qwen2_tied")
        pass.training.steps = 1; pass.training.batchSize = 4; pass.maxNewTokens = 2; pass.reportRationales = 0
        let (report, model) = try tinyRun(pass)
        XCTAssertEqual(model.config["model_type"] as? String, "qwen2")
        XCTAssertFalse(model.names.contains("lm_head.weight"), "qwen2_tied has a tied head; llama_gqa's tensors are gone")
        XCTAssertEqual(Set(model.names), Set(try Checkpoint(path: Fixtures.path("training/qwen2_tied")).names))
        XCTAssertFalse(report.tensors.isEmpty)
        pass.student = "/nonexistent/student"
        XCTAssertThrowsError(try tinyRun(pass)) { XCTAssertEqual(($0 as? PassError)?.path, "distill_step_by_step.student") }
    }

    func testErrorsNameTheKey() throws {
        XCTAssertThrowsError(try JSONDecoder().decode(DistillStepByStep.self, from: Data(#"{"pass": "distill_step_by_step", "beta": 1}"#.utf8))) {
            XCTAssertTrue("\($0)".contains("unknown key 'beta'"), "\($0)")
        }
        var pass = DistillStepByStep()
        pass.alpha = 1.5
        XCTAssertThrowsError(try pass.validate(path: "passes[1]")) { XCTAssertEqual($0 as? PassError, PassError("passes[1].alpha", "must be in [0, 1] (got 1.5)")) }
        pass.alpha = 0.5; pass.fractions = [0]
        XCTAssertThrowsError(try pass.validate(path: "passes[1]")) {
            XCTAssertEqual($0 as? PassError, PassError("passes[1].fractions", "must be a non-empty list of fractions in (0, 1] (got [0.0])"))
        }
        XCTAssertThrowsError(try DistillStepByStep().apply(to: try store("llama_gqa"), context: PassContext())) {
            XCTAssertEqual(($0 as? PassError)?.path, "distill_step_by_step")
            XCTAssertTrue(($0 as? PassError)?.message.hasPrefix("needs rationale data") ?? false, "\($0)")
        }
        var context = PassContext()
        context.rationales = RationaleData(task: .jsonl, train: syntheticArithmetic(count: 4, seed: 0), validation: [], test: [], parseFailures: [:])
        context.tokenizer = CharacterCodec(alphabet: "0123456789")
        XCTAssertThrowsError(try DistillStepByStep().apply(to: try store("llama_gqa"), context: context)) {
            XCTAssertEqual($0 as? PassError, PassError("distill_step_by_step.eval_split", "the test split has no examples"))
        }
    }
}
