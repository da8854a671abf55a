import Datasets
import Foundation
import Models
import TestSupport
import Tokenizers
import XCTest
@testable import Evaluation

/// minilm-l6-sst2 on the full SST-2 dev set, against transformers (fixtures/eval/sst2_minilm_reference.json).
final class SST2AccuracyTests: XCTestCase {
    func testAccuracyOnTheFullDevSetIsIdenticalToTransformers() throws {
        guard let modelPath = Fixtures.shared("models/minilm-l6-sst2"), let dev = Fixtures.shared("data/sst2/dev.tsv") else {
            throw XCTSkip("../shared/models/minilm-l6-sst2 or ../shared/data/sst2/dev.tsv absent")
        }
        let ref = try Fixtures.readJSON(Fixtures.path("eval/sst2_minilm_reference.json")) as! [String: Any]
        let loaded = try EvaluationModel(path: modelPath)
        XCTAssertEqual(loaded.labels, LabelSet(names: ["negative", "positive"]))
        let examples = try DataSource(data: dev).labeledExamples(encoder: loaded.tokenizer!, labels: loaded.labels)
        XCTAssertEqual(examples.count, 872)
        let firstIDs = (ref["first_ids"] as! [[Int]]).map { $0.map(Int32.init) }
        XCTAssertEqual(examples.prefix(firstIDs.count).map(\.ids), firstIDs, "tokenization as transformers' tokenizer(text)")

        let firstLogits = (ref["first_logits"] as! [[Double]]).map { $0.map(Float.init) }
        for (i, expected) in firstLogits.enumerated() {
            assertClose(try loaded.model.classLogits(examples[i]), expected, atol: 2e-4, rtol: 1e-4, "example \(i)")
        }
        let predictions = try loaded.model.predictions(examples)
        XCTAssertEqual(predictions, ref["predictions"] as! [Int], "every prediction as transformers'")
        XCTAssertEqual(accuracy(predictions: predictions, labels: examples.map { $0.label! }), 746.0 / 872.0)
        XCTAssertEqual(ref["correct"] as! Int, 746)
        // The evaluate(spec) path on the first 100 rows gives the same count as the reference predictions.
        let head = try loaded.evaluate(EvaluationSpec(metric: .accuracy, source: DataSource(data: dev, maxExamples: 100)))
        let gold = examples.prefix(100).map { $0.label! }
        XCTAssertEqual(head.count, 100)
        XCTAssertEqual(head.value, accuracy(predictions: Array((ref["predictions"] as! [Int]).prefix(100)), labels: gold))
    }
}
