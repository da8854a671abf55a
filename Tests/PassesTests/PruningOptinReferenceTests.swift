import XCTest
import Checkpoints
import Datasets
import Models
@testable import Passes
import TestSupport

/// OPTIN against a PyTorch port of the reference scoring loop run on stock transformers' BERT
/// (fixtures/pruning/optin_reference.json from tools/reference/pruning_optin.py): every unit's two
/// terms, its importance after balancing and multipliers, the kept units, and the pruned model's logits
/// — in the reference-code mode (index weights, unreset head mask) and the clean default.
final class PruningOptinReferenceTests: XCTestCase {
    func reference() throws -> [String: Any] {
        try Fixtures.readJSON(try Fixtures.required("pruning/optin_reference.json", regenerate: "tools/reference/pruning_optin.py")) as! [String: Any]
    }

    func calibration(_ reference: [String: Any]) -> [Example] {
        ((reference["meta"] as! [String: Any])["calibration"] as! [[Int]]).map { Example(ids: $0.map(Int32.init)) }
    }

    func pass(_ mode: String) -> OptinPruning {
        var p = OptinPruning(flopsRatio: 0.5)
        p.indexWeights = mode == "faithful"; p.unresetHeadMask = mode == "faithful"
        return p
    }

    func units(_ list: Any?) -> Set<PrunableUnit> { Set((list as! [[Int]]).map { PrunableUnit(.head, layer: $0[0], index: $0[1]) }) }

    func testScoresImportanceAndSelectionMatchThePyTorchPort() throws {
        let reference = try reference(), calibration = calibration(reference)
        let network = try TransformerModel.load(path: Fixtures.path("models-reference/bert_classifier"))
        for mode in ["faithful", "clean"] {
            let ref = reference[mode] as! [String: Any]
            let optin = pass(mode)
            let scores = try optin.scores(network, calibration: calibration)
            let expectedUnits = (ref["units"] as! [[Any]]).map {
                PrunableUnit(PrunableUnit.Kind(rawValue: $0[0] as! String)!, layer: $0[1] as! Int, index: $0[2] as! Int)
            }
            XCTAssertEqual(scores.units, expectedUnits, mode)
            let md = ref["md"] as! [Double], kl = ref["kl"] as! [Double], imp = ref["importance"] as! [Double]
            let importance = optin.importance(scores, network: network)
            for (i, u) in scores.units.enumerated() {
                XCTAssertEqual(scores.terms[i].md, md[i], accuracy: 1e-4 * md[i] + 1e-7, "\(mode) \(u) md")
                XCTAssertEqual(scores.terms[i].kl, kl[i], accuracy: 1e-3 * kl[i] + 1e-7, "\(mode) \(u) kl")
                XCTAssertEqual(importance[u]!, imp[i], accuracy: 1e-3 * abs(imp[i]) + 1e-7, "\(mode) \(u) importance")
            }
            let (plan, selection) = try optin.plan(network, scores: scores, macSeqLen: 16.0 / 3)
            let keptHeads = Set(plan.keepHeads.enumerated().flatMap { l, keep in keep.indices.filter { keep[$0] }.map { PrunableUnit(.head, layer: l, index: $0) } })
            let keptNeurons = Set(plan.keepNeurons.enumerated().flatMap { l, keep in keep.indices.filter { keep[$0] }.map { PrunableUnit(.head, layer: l, index: $0) } })
            XCTAssertEqual(keptHeads, units(ref["kept_heads"]), "\(mode) kept heads")
            XCTAssertEqual(keptNeurons, units(ref["kept_neurons"]), "\(mode) kept neurons")
            XCTAssertEqual(selection.importance, ref["selected_importance"] as! Double, accuracy: 1e-3 * (ref["selected_importance"] as! Double))
        }
    }

    /// `OptinPruning.apply` end to end (the recipe path): the written checkpoint prunes the reference's
    /// units and computes the reference's masked logits.
    func testApplyWritesACheckpointThatComputesTheReferenceMaskedModel() throws {
        let reference = try reference(), calibration = calibration(reference)
        let ref = reference["faithful"] as! [String: Any]
        let store = EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("models-reference/bert_classifier")))
        let report = try pass("faithful").apply(to: store, context: PassContext(calibration: calibration))
        XCTAssertEqual(report.metrics["kept_heads"], Double((ref["kept_heads"] as! [[Int]]).count))
        XCTAssertEqual(report.metrics["kept_neurons"], Double((ref["kept_neurons"] as! [[Int]]).count))
        let pruned = try TransformerModel.load(from: store)
        let out = try pruned.forward(ModelInput(padding: calibration.map { $0.ids.map(Int.init) }))
        assertClose(out.logits, (ref["pruned_logits"] as! [Double]).map(Float.init), atol: 2e-5, rtol: 1e-4)
        let whittle = store.config["whittle"] as! [String: Any]
        let prunedHeads = (whittle["pruned_heads"] as? [String: [Int]]) ?? [:]
        let kept = units(ref["kept_heads"])
        for l in 0..<2 {
            XCTAssertEqual(Set(prunedHeads[String(l)] ?? []), Set((0..<4).filter { !kept.contains(PrunableUnit(.head, layer: l, index: $0)) }), "layer \(l)")
        }
    }
}
