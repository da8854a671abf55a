import XCTest
import Checkpoints
import Datasets
import Models
@testable import Passes
import TestSupport

/// FinerCut (ALGORITHMS.md §2) against a PyTorch + transformers port of the reference loop
/// (fixtures/pruning/finercut_reference.json from tools/reference/pruning_finercut.py).
final class PruningFinerCutTests: XCTestCase {
    static let reference = try! Fixtures.readJSON(Fixtures.path("pruning/finercut_reference.json")) as! [String: Any]

    /// The fixture's calibration: lines 0–1 of the stories260K samples, first 64 ids each.
    func storiesCalibration() throws -> [Example] {
        let text = try String(contentsOfFile: Fixtures.path("eval/stories260k_samples.tokens"), encoding: .utf8)
        return text.split(separator: "\n").prefix(2).map { Example(ids: $0.split(separator: " ").prefix(64).map { Int32($0)! }) }
    }

    func stories() throws -> (EditableCheckpoint, TransformerModel) {
        let store = EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("models/stories260K")))
        return (store, try TransformerModel.load(from: store))
    }

    func testDivergencesMatchPyTorch() throws {
        let d = Self.reference["divergences"] as! [String: Any]
        let (rows, vocab) = (d["rows"] as! Int, d["vocab"] as! Int)
        let ref = (d["reference"] as! [Double]).map(Float.init), cand = (d["candidate"] as! [Double]).map(Float.init)
        let lp = logSoftmaxRows(ref, rows: rows, vocab: vocab)
        for kind in OutputDivergence.allCases {
            let ours = outputDivergence(kind, reference: ref, referenceLogProbs: lp, candidate: cand, rows: rows, vocab: vocab)
            let expected = d[kind.rawValue] as! Double
            XCTAssertEqual(ours, expected, accuracy: 1e-5 * abs(expected), "\(kind)")
        }
        XCTAssertEqual(outputDivergence(.js, reference: ref, referenceLogProbs: lp, candidate: ref, rows: rows, vocab: vocab), 0, accuracy: 1e-12)
    }

    func testGreedyOrderMatchesPyTorchOnStories260K() throws {
        let (_, model) = try stories()
        let pass = FinerCutPruning(removeCount: 0)
        let input = try pass.calibrationInput(try storiesCalibration(), config: model.config)
        let order = try pass.removalOrder(model, input: input, count: 0)
        let expected = Self.reference["finercut_order"] as! [[String: Any]]
        XCTAssertEqual(order.map { "\($0.sublayer.layer).\($0.sublayer.kind.rawValue)" },
                       expected.map { "\($0["layer"] as! Int).\($0["kind"] as! String)" })
        for (ours, theirs) in zip(order, expected) {
            let e = theirs["divergence"] as! Double
            XCTAssertEqual(ours.divergence, e, accuracy: 2e-3 * e + 1e-9, "step \(ours.sublayer)")
        }
    }

    func testOrderIsDeterministic() throws {
        let (_, model) = try stories()
        let pass = FinerCutPruning(removeCount: 0)
        let input = try pass.calibrationInput(try storiesCalibration(), config: model.config)
        let a = try pass.removalOrder(model, input: input, count: 0)
        let b = try pass.removalOrder(model, input: input, count: 0)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 10)
    }

    func testTiesGoToTheFirstModuleName() throws {
        let order = try greedyRemovalOrder(layers: 12, steps: 4) { _, _ in 1.0 }
        // "model.layers.0.mlp…" < "model.layers.0.self_attn…" < "model.layers.1.…" < "model.layers.10.…"
        XCTAssertEqual(order.map(\.sublayer), [SublayerID(layer: 0, kind: .mlp), SublayerID(layer: 0, kind: .attention),
                                               SublayerID(layer: 1, kind: .mlp), SublayerID(layer: 1, kind: .attention)])
    }

    func testExclusionHoldsOutFrontBlocksUntilReleased() throws {
        let e = finerCutExclusion(layers: 32, exclude: 0.4)   // README example for Llama-3-8B
        XCTAssertEqual(e.blocks, 13)
        XCTAssertEqual(e.releaseAfter, 26)
        // A distance that always prefers low layers: held-out blocks 0–1 are taken only after 3 removals.
        let small = finerCutExclusion(layers: 4, exclude: 0.3)   // ⌊8·0.3/2⌋+1 = 2 blocks, released after ⌊2.4⌋+1 = 3
        XCTAssertEqual(small.blocks, 2); XCTAssertEqual(small.releaseAfter, 3)
        let order = try greedyRemovalOrder(layers: 4, steps: 8, heldOutBlocks: small.blocks, releaseAfter: small.releaseAfter) { _, c in
            Double(c.layer * 2 + (c.kind == .attention ? 0 : 1))
        }
        XCTAssertEqual(order.prefix(3).map(\.sublayer.layer), [2, 2, 3])
        XCTAssertEqual(order[3].sublayer, SublayerID(layer: 0, kind: .attention))
    }

    func testValidationNamesTheKey() {
        XCTAssertThrowsError(try FinerCutPruning().validate(path: "passes[0]")) {
            XCTAssertEqual(($0 as? PassError)?.path, "passes[0]")
        }
        XCTAssertThrowsError(try FinerCutPruning(removeRatio: 0.2, removeCount: 2).validate(path: "passes[0]"))
        XCTAssertThrowsError(try FinerCutPruning(removeRatio: 1.5).validate(path: "passes[0]")) {
            XCTAssertEqual(($0 as? PassError)?.path, "passes[0].remove_ratio")
        }
        let decoded = try? JSONDecoder().decode(FinerCutPruning.self, from: Data(#"{"pass": "finercut", "remove_ratio": 0.25, "typo": 1}"#.utf8))
        XCTAssertNil(decoded)
    }

    /// Removing the first 4 of the order (L4.attn, L3.attn, L2.attn, L4.mlp) drops layer 4 entirely.
    func testWrittenCheckpointComputesThePrunedFunction() throws {
        for layout in PrunedLayout.allCases {
            let (store, original) = try stories()
            let report = try FinerCutPruning(removeCount: 4, layout: layout).apply(to: store, context: PassContext(calibration: try storiesCalibration()))
            XCTAssertEqual(report.metrics["removed_sublayers"], 4)
            XCTAssertEqual(report.metrics["dropped_layers"], 1)
            XCTAssertNotNil(report.metrics["measured_speedup"])
            XCTAssertEqual(report.series.first?.values.count, 10)
            XCTAssertEqual(store.config["num_hidden_layers"] as? Int, 4)
            XCTAssertFalse(store.names.contains { $0.hasPrefix("model.layers.4.") })
            let pruned = try TransformerModel.load(from: store)
            XCTAssertEqual(pruned.skippedSublayers, [SublayerID(layer: 2, kind: .attention), SublayerID(layer: 3, kind: .attention)])
            if layout == .sliced {
                XCTAssertEqual(store.spec("model.layers.3.self_attn.q_proj.weight")?.shape, [0, 64])
                XCTAssertEqual(pruned.headCounts, [8, 8, 0, 0])
            } else {
                XCTAssertEqual(try store.tensor("model.layers.3.self_attn.o_proj.weight").floats().allSatisfy { $0 == 0 }, true)
            }
            let ids = [[1, 436, 422, 327, 396, 360, 413, 433]]
            let skip: Set<SublayerID> = [.init(layer: 4, kind: .attention), .init(layer: 3, kind: .attention),
                                         .init(layer: 2, kind: .attention), .init(layer: 4, kind: .mlp)]
            let expected = try original.forward(ModelInput(tokens: ids), options: ForwardOptions(skip: skip)).logits
            assertClose(try pruned.forward(ModelInput(tokens: ids)).logits, expected, atol: 1e-5, "\(layout)")
        }
    }
}
