import XCTest
import Checkpoints
import Datasets
import Models
@testable import Passes
import TestSupport

/// Pruned checkpoints written by the passes (fixtures/pruning/*-zeroed, by `whittle-bench pruning fixtures`)
/// load in stock transformers and give the logits our runtime gives (transformers' logits recorded by
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

    func testFinerCutFixtureIsReproducedBitForBit() throws {
        let text = try String(contentsOfFile: Fixtures.path("eval/stories260k_samples.tokens"), encoding: .utf8)
        let calibration = text.split(separator: "\n").prefix(2).map { Example(ids: $0.split(separator: " ").prefix(64).map { Int32($0)! }) }
        let store = EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("models/stories260K")))
        _ = try FinerCutPruning(removeCount: 4).apply(to: store, context: PassContext(calibration: calibration))
        let fixture = try Checkpoint(path: Fixtures.path("pruning/stories260K-finercut4-zeroed"))
        XCTAssertEqual(store.names.sorted(), fixture.names.sorted())
        for name in fixture.names {
            XCTAssertEqual(Array(try store.tensor(name).bytes), Array(try fixture.tensor(name).bytes), name)
        }
        XCTAssertEqual(fixture.config["num_hidden_layers"] as? Int, 4)
    }
}
