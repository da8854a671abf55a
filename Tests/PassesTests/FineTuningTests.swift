import Checkpoints
import Datasets
import Models
import Passes
import Tensors
import TestSupport
import Training
import XCTest

final class FineTuningTests: XCTestCase {
    func store(_ name: String) throws -> EditableCheckpoint {
        let folder = Fixtures.path("training/\(name)")
        _ = try Fixtures.required("training/\(name)/config.json", regenerate: "/root/venv/bin/python tools/reference/training_reference.py \(name)")
        return EditableCheckpoint(source: try Checkpoint(path: folder))
    }

    func decode(_ json: String) throws -> FineTuning {
        try JSONDecoder().decode(FineTuning.self, from: Data(json.utf8))
    }

    let examples = (0..<12).map { i in
        Example(ids: [1] + (0..<(3 + i % 4)).map { Int32(($0 * 7 + i * 3) % 38 + 2) }, label: i % 3)
    }

    func testFineTunesClassifierAndWritesBackWithStoredDType() throws {
        let model = try store("bert_classifier")
        let pass = try decode(#"{"pass": "finetune", "lr": 0.003, "steps": 12, "batch_size": 4, "warmup_steps": 2, "seed": 3}"#)
        let report = try pass.apply(to: model, context: PassContext(training: examples))
        XCTAssertEqual(report.series.first?.values.count, 12)
        XCTAssertLessThan(report.metrics["final_loss"]!, report.metrics["first_loss"]! - 0.2, "training reduces the loss")
        XCTAssertEqual(report.tensors.count, model.source.names.count, "every stored parameter is trained")
        let w = try model.tensor("classifier.weight")
        XCTAssertEqual(w.dtype, try model.source.tensor("classifier.weight").dtype)
        XCTAssertNotEqual(w.floats(), try model.source.tensor("classifier.weight").floats())
        // The written checkpoint reloads and reproduces the trained model's predictions: the same training
        // (settings, batches, seed) run here in memory gives the logits the reloaded checkpoint gives.
        let trainable = try TrainableModel(try TransformerModel.load(from: model.source))
        let batcher = try ExampleBatcher(config: trainable.config, modelConfig: model.source.config, maxLength: pass.maxLength, examples: examples)
        let loader = DataLoader(examples, batchSize: 4, seed: 3)
        try Trainer(model: trainable, settings: pass.settings(examples: examples.count))
            .run(batch: { try batcher.batch(loader.batch(step: $0)) }, progress: { _, _ in })
        let reloaded = try TransformerModel.load(from: model)
        let untrained = try TransformerModel.load(from: model.source)
        let input = ModelInput(padding: [[1, 5, 9, 3], [1, 7, 2, 30, 11, 4]])
        let trained = try trainable.forward(input, tape: Tape()).logits.value
        assertClose(try reloaded.forward(input).logits, trained, atol: 1e-6, rtol: 1e-5, "reloaded vs trained in memory")
        XCTAssertNotNil(closeness(try untrained.forward(input).logits, trained, atol: 1e-3), "training changed the predictions")
    }

    func testLanguageModelGPT2WritesConv1DLayout() throws {
        let model = try store("gpt2")
        let lm = (0..<8).map { i in Example(ids: (0..<6).map { Int32(($0 * 5 + i) % 40) }) }
        let pass = try decode(#"{"pass": "finetune", "lr": 0.002, "steps": 4, "batch_size": 4}"#)
        let report = try pass.apply(to: model, context: PassContext(training: lm))
        XCTAssertEqual(report.metrics["steps"], 4)
        XCTAssertEqual(try model.tensor("transformer.h.0.attn.c_attn.weight").shape, [16, 48])
        XCTAssertFalse(model.names.contains("lm_head.weight"), "tied head is not written separately")
    }

    func testErrors() throws {
        XCTAssertThrowsError(try decode(#"{"pass": "finetune", "learning_rate": 0.1}"#))
        XCTAssertThrowsError(try decode(#"{"pass": "finetune", "batch_size": 0}"#).validate(path: "passes[0]")) {
            XCTAssertEqual($0 as? PassError, PassError("passes[0].batch_size", "must be positive (got 0)"))
        }
        let model = try store("bert_classifier")
        XCTAssertThrowsError(try FineTuning().apply(to: model, context: PassContext())) {
            XCTAssertEqual($0 as? PassError, PassError("finetune", "needs training examples: add a \"training\" data section to the recipe"))
        }
        XCTAssertThrowsError(try FineTuning().apply(to: model, context: PassContext(training: [Example(ids: [1, 2], label: 7)]))) {
            XCTAssertEqual($0 as? PassError, PassError("finetune", "training example 0 has label 7; the model has 3 labels"))
        }
        XCTAssertEqual(PassRegistry.type(of: "finetune").map { "\($0)" }, "FineTuning")
    }
}
