import Checkpoints
import Datasets
import Models
import Passes
import Tensors
import TestSupport
import Training
import XCTest

/// Pruning then training: what pruning removed stays removed (the one block honours the checkpoint's
/// `whittle` section in training as in inference).
final class PrunedTrainingTests: XCTestCase {
    let lm: [Example] = (0..<8).map { (i: Int) -> Example in
        Example(ids: (0..<7).map { (j: Int) -> Int32 in Int32((j * 5 + i * 3) % 38 + 1) })
    }
    let finetune = try! JSONDecoder().decode(FineTuning.self, from: Data(#"{"pass": "finetune", "lr": 0.01, "steps": 3, "batch_size": 4}"#.utf8))

    func pruned(_ layout: PrunedLayout, _ edit: (inout PruningPlan) -> Void) throws -> EditableCheckpoint {
        let store = EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("training/llama_gqa")))
        let model = try TransformerModel.load(from: store)
        var plan = PruningPlan(heads: model.headCounts, ffnWidths: model.ffnWidths)
        edit(&plan)
        try plan.write(into: store, layout: layout)
        return store
    }

    func floats(_ store: EditableCheckpoint, _ name: String) throws -> [Float] { try store.tensor(name).floats() }

    /// FinerCut's zeroed layout, then `finetune`: removed sublayers stay exactly zero and their
    /// weights are not handed to the optimizer; everything else trains.
    func testRemovedSublayersStayZeroThroughFineTuning() throws {
        let store = try pruned(.zeroed) { $0.skipped = [SublayerID(layer: 1, kind: .attention), SublayerID(layer: 0, kind: .mlp)] }
        let trainable = try TrainableModel(try TransformerModel.load(from: store))
        let frozen = Set([trainable.model.layers[1].o, trainable.model.layers[0].down].map { ObjectIdentifier(($0 as! Linear).weightParameter) })
        XCTAssertTrue(trainable.parameters.allSatisfy { !frozen.contains(ObjectIdentifier($0)) }, "removed projections are not trained")
        let tape = Tape()
        tape.backward(from: try Trainer.supervisedLoss(trainable, TrainingBatch.languageModel([[3, 7, 1, 9, 4, 2]]), tape))
        for w in [trainable.model.layers[1].o, trainable.model.layers[0].down].map({ ($0 as! Linear).weightParameter }) {
            XCTAssertTrue(w.grad.allSatisfy { $0 == 0 }, "\(w.name): a removed sublayer does not run, so it gets no gradient")
        }
        let before = try floats(store, "model.layers.1.self_attn.q_proj.weight")
        let report = try finetune.apply(to: store, context: PassContext(training: lm))
        let written = Set(report.tensors.map(\.name))
        XCTAssertFalse(written.contains("model.layers.1.self_attn.o_proj.weight"), "frozen tensors are not reported as trained")
        XCTAssertTrue(written.contains("model.layers.0.self_attn.o_proj.weight"))
        XCTAssertTrue(try floats(store, "model.layers.1.self_attn.o_proj.weight").allSatisfy { $0 == 0 })
        XCTAssertTrue(try floats(store, "model.layers.0.mlp.down_proj.weight").allSatisfy { $0 == 0 })
        XCTAssertEqual(try floats(store, "model.layers.1.self_attn.q_proj.weight"), before, "a removed sublayer's inputs get no gradient")
        XCTAssertNotEqual(try floats(store, "model.layers.0.self_attn.o_proj.weight"),
                          try store.source.tensor("model.layers.0.self_attn.o_proj.weight").floats(), "kept sublayers train")
    }

    /// OPTIN's zeroed layout, then `finetune`: pruned heads and neurons stay zero (their scale is 0 in
    /// every forward, so no gradient reaches their output-projection columns).
    func testMaskedUnitsStayZeroThroughFineTuning() throws {
        let store = try pruned(.zeroed) { plan in
            plan.keepHeads[0] = [true, false, true, true]
            for n in stride(from: 0, to: 32, by: 4) { plan.keepNeurons[1][n] = false }
        }
        let whittle = try WhittleConfig.read(from: store.config)
        XCTAssertEqual(whittle.maskedHeads, ["0": [1]])
        XCTAssertEqual(whittle.maskedNeurons?["1"], Array(stride(from: 0, to: 32, by: 4)))
        _ = try finetune.apply(to: store, context: PassContext(training: lm))
        let o = try store.tensor("model.layers.0.self_attn.o_proj.weight"), down = try store.tensor("model.layers.1.mlp.down_proj.weight")
        let hd = 4, ow = o.floats(), dw = down.floats()
        for r in 0..<o.shape[0] { for c in hd..<(2 * hd) { XCTAssertEqual(ow[r * o.shape[1] + c], 0, "o_proj column \(c) of pruned head 1") } }
        for r in 0..<down.shape[0] { for c in stride(from: 0, to: 32, by: 4) { XCTAssertEqual(dw[r * down.shape[1] + c], 0, "down_proj column \(c)") } }
        XCTAssertNotEqual(ow, try store.source.tensor("model.layers.0.self_attn.o_proj.weight").floats(), "kept heads train")
    }

    /// OPTIN's sliced layout with a layer left without attention heads, then `finetune`: it trains,
    /// and the trained checkpoint computes what the trained model computed.
    func testSlicedModelWithAZeroHeadLayerTrains() throws {
        let store = try pruned(.sliced) { plan in
            plan.skipped = [SublayerID(layer: 0, kind: .attention)]
            plan.keepHeads[1] = [false, false, true, true]
            plan.keepNeurons[1] = (0..<32).map { $0 % 2 == 0 }
        }
        var model = try TransformerModel.load(from: store)
        XCTAssertEqual(model.headCounts, [0, 2])
        // No skip recorded: the zero-head layer alone must be skipped by the block, in training too.
        var config = store.config
        config["whittle"] = nil
        store.config = config
        model = try TransformerModel.load(from: store)
        let report = try finetune.apply(to: store, context: PassContext(training: lm))
        XCTAssertEqual(report.metrics["steps"], 3)
        XCTAssertLessThan(report.metrics["final_loss"]!, report.metrics["first_loss"]!)
        let trained = try TransformerModel.load(from: store)
        let input = ModelInput(tokens: [[1, 5, 9, 3, 7]])
        XCTAssertNotEqual(try trained.forward(input).logits, try model.forward(input).logits, "the sliced model trained")
    }
}
