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

    /// KL(stories260K ‖ its FinerCut-pruned checkpoint) and per-module kurtosis / ∞-norm against PyTorch hooks
    /// on the same ids (fixtures/eval/stories260k_model_reference.json from tools/reference/eval_model_reference.py).
    func testKLAndOutlierStatsMatchPyTorchOnTheSameActivations() throws {
        let ref = try Fixtures.readJSON(try Fixtures.required("eval/stories260k_model_reference.json",
                                                               regenerate: "tools/reference/eval_model_reference.py")) as! [String: Any]
        let model = try TransformerModel.load(path: Fixtures.path("models/stories260K"))
        let pruned = try TransformerModel.load(path: Fixtures.path("pruning/stories260K-finercut4-zeroed"))
        let stream = try DataSource(data: Fixtures.path("eval/stories260k_samples.tokens"), maxTokens: 128).tokenStream(encoder: nil)
        let klRef = ref["kl"] as! [String: Any]
        let kl = try klDivergence(original: model, compressed: pruned, stream: stream, seqLen: 64, file: "samples")
        XCTAssertEqual(kl.count, klRef["count"] as! Int)
        XCTAssertEqual(kl.value, klRef["mean_kl"] as! Double, accuracy: 1e-5 * (klRef["mean_kl"] as! Double))
        XCTAssertEqual(try klDivergence(original: model, compressed: model, stream: stream, seqLen: 64, file: "samples").value, 0, accuracy: 1e-9)

        let stats = try model.outlierStats([Example(ids: Array(stream[0..<64])), Example(ids: Array(stream[64..<128]))])
        let names = ["attentionOutput": "attention_output", "ffnOutput": "ffn_output", "blockOutput": "block_output"]
        let expected = (ref["outliers"] as! [String: Any])["modules"] as! [[String: Any]]
        XCTAssertEqual(stats.modules.count, expected.count)
        XCTAssertEqual(stats.modules.last?.name, "final_norm")
        for m in stats.modules {
            let parts = m.name.split(separator: ".")
            let key = parts.count == 3 ? "layers.\(parts[1]).\(names[String(parts[2])]!)" : m.name
            guard let e = expected.first(where: { $0["name"] as! String == key }) else { XCTFail("no reference for \(m.name)"); continue }
            XCTAssertEqual(m.samples, 2)
            XCTAssertEqual(m.kurtosis, e["kurtosis"] as! Double, accuracy: 1e-4 * (e["kurtosis"] as! Double), m.name)
            XCTAssertEqual(m.infinityNorm, e["infinity_norm"] as! Double, accuracy: 1e-5 * (e["infinity_norm"] as! Double), m.name)
        }
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
