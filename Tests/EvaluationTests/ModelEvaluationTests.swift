import Datasets
import Foundation
import Models
import TestSupport
import XCTest
@testable import Evaluation

/// Metrics on real models, against transformers (tools/reference/eval_reference.py).
final class ModelEvaluationTests: XCTestCase {
    func testStories260KPerplexityMatchesTransformersForEveryWindowing() throws {
        let model = try TransformerModel.load(path: Fixtures.path("models/stories260K"))
        let ref = try Fixtures.readJSON(Fixtures.path("eval/stories260k_perplexity.json")) as! [String: Any]
        for c in ref["cases"] as! [[String: Any]] {
            let source = DataSource(data: Fixtures.path("eval/stories260k_samples.tokens"), maxTokens: c["max_tokens"] as? Int)
            let r = try model.perplexity(of: try source.tokenStream(encoder: nil), seqLen: c["seq_len"] as! Int,
                                         stride: c["stride"] as? Int, file: source.data)
            let expected = c["perplexity"] as! Double
            XCTAssertEqual(r.count, c["count"] as! Int)
            XCTAssertEqual(r.perplexity, expected, accuracy: 1e-5 * expected, "seq_len \(c["seq_len"]!) stride \(c["stride"]!)")
        }
    }

    func testEvaluateSpecReportsPerplexityCountAndWindows() throws {
        let model = try TransformerModel.load(path: Fixtures.path("models/stories260K"))
        let spec = EvaluationSpec(metric: .perplexity, source: DataSource(data: Fixtures.path("eval/stories260k_samples.tokens"),
                                                                            seqLen: 256, maxTokens: 1000))
        let r = try evaluate(spec, model: model, encoder: nil, labels: nil)
        XCTAssertEqual(r.count, 996); XCTAssertEqual(r.details["windows"], 4)
        XCTAssertEqual(r.value, 23.9343, accuracy: 23.9343 * 1e-3)
    }

    func testKLOfAModelWithItselfIsZeroAndOutlierStatsCoverEveryLayer() throws {
        let model = try TransformerModel.load(path: Fixtures.path("models/stories260K"))
        let stream = try DataSource(data: Fixtures.path("eval/stories260k_samples.tokens"), maxTokens: 128).tokenStream(encoder: nil)
        let kl = try klDivergence(original: model, compressed: model, stream: stream, seqLen: 64, file: "samples")
        XCTAssertEqual(kl.value, 0, accuracy: 1e-9); XCTAssertEqual(kl.count, 128)
        let stats = try model.outlierStats([Example(ids: Array(stream.prefix(64)))])
        XCTAssertEqual(stats.modules.count, 5 * 3)
        XCTAssertTrue(stats.modules.allSatisfy { $0.kurtosis > 1 && $0.infinityNorm > 0 })
    }

    func testGreedyAnswersMatchTransformersGenerateExactly() throws {
        let model = try TransformerModel.load(path: Fixtures.path("models/stories260K"))
        let source = DataSource(data: Fixtures.path("eval/stories260k_greedy.jsonl"), seqLen: 12)
        let r = try exactMatchOfGreedyAnswers(source, model: model, tokenizer: IDTextCodec())
        XCTAssertEqual(r.count, 4)
        XCTAssertEqual(r.value, 1.0, "every greedy continuation equals transformers' generate(do_sample=False)")
        var shorter = source; shorter.seqLen = 11
        XCTAssertEqual(try exactMatchOfGreedyAnswers(shorter, model: model, tokenizer: IDTextCodec()).value, 0)
    }
}
