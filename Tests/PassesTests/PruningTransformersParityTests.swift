import XCTest
import Checkpoints
import Datasets
import Models
@testable import Passes
import TestSupport

/// Pruned checkpoints written by the passes (fixtures/pruning/*-zeroed, by `whittle-bench pruning fixtures`)
/// load in stock transformers and give the logits our runtime gives, and the FinerCut pass computes what
/// transformers computes with the reference order's sublayers zeroed (both recorded by
/// tools/reference/pruning_finercut.py in finercut_reference.json).
final class PruningTransformersParityTests: XCTestCase {
    func testTransformersLogitsEqualOurRuntimeOnPrunedCheckpoints() throws {
        let reference = try Fixtures.readJSON(Fixtures.path("pruning/finercut_reference.json")) as! [String: Any]
        let cases = reference["pruned_checkpoints"] as! [[String: Any]]
        XCTAssertEqual(cases.map { $0["checkpoint"] as! String }, ["bert-optin50-zeroed", "stories260K-finercut4-zeroed"])
        for c in cases {
            let name = c["checkpoint"] as! String
            let model = try TransformerModel.load(path: Fixtures.path("pruning/" + name))
            let input = ModelInput(tokens: c["ids"] as! [[Int]], attentionMask: c["attention_mask"] as? [[Int]])
            let out = try model.forward(input)
            XCTAssertEqual(out.shape, c["shape"] as! [Int], name)
            assertClose(out.logits, (c["logits"] as! [Double]).map(Float.init), atol: 1e-4, rtol: 1e-4, name)
        }
    }

    /// The pass run here (not the committed folder) removes the first four sublayers of the PyTorch greedy
    /// order and computes what transformers computes with those sublayers' outputs zeroed by hooks
    /// (`finercut4_hooked`, tools/reference/pruning_finercut.py).
    func testFinerCutPassComputesTheHookedTransformersModel() throws {
        let reference = try Fixtures.readJSON(try Fixtures.required("pruning/finercut_reference.json",
                                                                     regenerate: "tools/reference/pruning_finercut.py")) as! [String: Any]
        let text = try String(contentsOfFile: Fixtures.path("eval/stories260k_samples.tokens"), encoding: .utf8)
        let calibration = text.split(separator: "\n").prefix(2).map { Example(ids: $0.split(separator: " ").prefix(64).map { Int32($0)! }) }
        let store = EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("models/stories260K")))
        _ = try FinerCutPruning(removeCount: 4).apply(to: store, context: PassContext(calibration: calibration))
        let order = (reference["finercut_order"] as! [[String: Any]]).prefix(4).map { "\($0["layer"]!).\($0["kind"]!)" }
        let whittle = try WhittleConfig.read(from: store.config)
        let dropped = (whittle.droppedLayers ?? []).flatMap { ["\($0).attention", "\($0).mlp"] }
        // Skipped sublayers are numbered in the stored (after dropping) layout; map them back to the input's.
        let kept = (0..<5).filter { !(whittle.droppedLayers ?? []).contains($0) }
        let skipped = (whittle.skippedSublayers ?? []).map { "\(kept[$0.layer]).\($0.kind == .attention ? "attention" : "mlp")" }
        XCTAssertEqual(Set(dropped + skipped), Set(order))
        let hooked = reference["finercut4_hooked"] as! [String: Any]
        let out = try TransformerModel.load(from: store).forward(ModelInput(tokens: hooked["ids"] as! [[Int]]))
        XCTAssertEqual(out.shape, hooked["shape"] as! [Int])
        assertClose(out.logits, (hooked["logits"] as! [Double]).map(Float.init), atol: 1e-4, rtol: 1e-4)
    }
}
