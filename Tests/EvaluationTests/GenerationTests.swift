import Foundation
import Models
import Tensors
import TestSupport
import XCTest
@testable import Evaluation

/// Greedy generation with the KV cache against transformers' `generate(do_sample=False)` (its own
/// cache) and against our uncached path (tools/reference/generation_reference.py).
final class GenerationTests: XCTestCase {
    static let regenerate = "/root/venv/bin/python tools/reference/generation_reference.py"

    struct Case { let name: String, folder: String, prompts: [[Int32]], maxNewTokens: Int, generated: [[Int32]] }

    func cases() throws -> [Case] {
        let path = try Fixtures.required("generation/generate_reference.json", regenerate: Self.regenerate)
        let json = try Fixtures.readJSON(path) as! [String: Any]
        let cases = json["cases"] as! [String: [String: Any]]
        func ids(_ x: Any?) -> [[Int32]] { (x as! [[Int]]).map { $0.map { Int32($0) } } }
        return cases.keys.sorted().map { name in
            let c = cases[name]!
            return Case(name: name, folder: c["folder"] as! String, prompts: ids(c["prompts"]), maxNewTokens: c["max_new_tokens"] as! Int,
                        generated: ids(c["generated"]))
        }
    }

    func model(_ folder: String) throws -> TransformerModel {
        try TransformerModel.load(path: try Fixtures.required(folder, regenerate: Self.regenerate))
    }

    /// The uncached path: each step recomputes the whole prefix.
    func uncached(_ model: TransformerModel, _ prompts: [[Int32]], _ maxNewTokens: Int, eos: Int32?) throws -> [[Int32]] {
        try prompts.map { p in
            try greedyGenerate(prompt: p, maxNewTokens: maxNewTokens, eos: eos) { Array(try model.sequenceLogits($0).suffix(model.config.vocabSize)) }
        }
    }

    /// Every decoder family, and sliding windows shorter than prompt + output (Mistral; Qwen2 in its
    /// `layer_types` layers) through generate's own sliding-window cache.
    func testCachedGenerationMatchesTransformersGenerateAndTheUncachedPath() throws {
        let cases = try cases()
        XCTAssertEqual(cases.map(\.name), ["gpt2", "llama_gqa", "llama_mha_tied", "llama_mqa_bias", "llama_rope_dynamic", "llama_rope_linear",
                                           "llama_rope_llama3",
                                           "mistral_window", "mistral_window5", "qwen2_bias_tied", "qwen2_window5"])
        for c in cases {
            let model = try model(c.folder)
            let batched = try greedyGenerate(model: model, prompts: c.prompts, maxNewTokens: c.maxNewTokens, eos: nil)
            XCTAssertEqual(batched, c.generated, "\(c.name): batched, cached vs transformers generate")
            for (p, g) in zip(c.prompts, c.generated) {
                XCTAssertEqual(try greedyGenerate(model: model, prompts: [p], maxNewTokens: c.maxNewTokens, eos: nil), [g], "\(c.name): one at a time")
            }
            // Dynamic NTK past max_position_embeddings: cached keys keep the base they were rotated with
            // (transformers' cache does the same); recomputing the prefix re-rotates them, so that path differs.
            if c.name == "llama_rope_dynamic" { continue }
            XCTAssertEqual(try uncached(model, c.prompts, c.maxNewTokens, eos: nil), c.generated, "\(c.name): uncached vs transformers")
        }
    }

    func testEachSequenceStopsAtEOSOrMaxLength() throws {
        let c = try cases().first { $0.name == "llama_gqa" }!
        let model = try model(c.folder)
        // An EOS that one sequence produces early: that sequence stops before it, the others run on.
        let g1 = c.generated[1], k = (2..<g1.count).first { !g1[..<$0].contains(g1[$0]) }!
        let eos = g1[k]
        let expected = c.generated.map { g in Array(g.prefix { $0 != eos }) }
        XCTAssertEqual(expected[1].count, k)
        XCTAssertTrue(expected.contains { $0.count == c.maxNewTokens }, "the fixture should also have a sequence without this EOS")
        XCTAssertEqual(try greedyGenerate(model: model, prompts: c.prompts, maxNewTokens: c.maxNewTokens, eos: eos), expected)
        XCTAssertEqual(try greedyGenerate(model: model, prompts: c.prompts, maxNewTokens: 5, eos: nil), c.generated.map { Array($0.prefix(5)) })
        XCTAssertEqual(try greedyGenerate(model: model, prompts: c.prompts, maxNewTokens: 0, eos: nil), [[], [], []])
    }

    func testMoreSequencesThanOneBatchKeepTheirOrder() throws {
        let c = try cases().first { $0.name == "qwen2_bias_tied" }!
        let model = try model(c.folder)
        var prompts: [[Int32]] = [], expected: [[Int32]] = []
        for i in 0..<(generationBatch + 3) { prompts.append(c.prompts[i % 3]); expected.append(c.generated[i % 3]) }
        XCTAssertEqual(try greedyGenerate(model: model, prompts: prompts, maxNewTokens: c.maxNewTokens, eos: nil), expected)
    }

    func testPerSequenceGateFallsBackToTheUncachedPath() throws {
        let model = try TransformerModel.load(path: try Fixtures.required("gated/gpt2_per_head_finetune", regenerate: "tools/reference/gated_attention_reference.py"))
        XCTAssertNotNil(model.kvCacheProblem)
        let prompts: [[Int32]] = [[3, 9, 1], [5]]
        XCTAssertEqual(try greedyGenerate(model: model, prompts: prompts, maxNewTokens: 6, eos: nil), try uncached(model, prompts, 6, eos: nil))
    }

    func testGenerationErrors() throws {
        let model = try model("models-reference/llama_gqa")
        XCTAssertThrowsError(try greedyGenerate(model: model, prompts: [[1], []], maxNewTokens: 3, eos: nil)) { error in
            XCTAssertEqual("\(error)", "\(EvaluationError.invalidArgument(message: "prompt 1 is empty (generation needs at least one token)"))")
        }
        let bert = try self.model("models-reference/bert_classifier")
        XCTAssertThrowsError(try greedyGenerate(model: bert, prompts: [[1]], maxNewTokens: 3, eos: nil)) { error in
            guard case .invalidArgument(let m)? = error as? EvaluationError else { return XCTFail("\(error)") }
            XCTAssertTrue(m.hasPrefix("greedy generation needs a causal language model"), m)
        }
    }
}
