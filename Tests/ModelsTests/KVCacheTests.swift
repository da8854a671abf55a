import Checkpoints
import Foundation
import Models
import Tensors
import TestSupport
import XCTest

/// The KV cache (`TransformerModel.forward(appending:to:)`) against the full forward, and
/// sliding-window attention against transformers (tools/reference/generation_reference.py).
final class KVCacheTests: XCTestCase {
    static let decoders = ["llama_gqa", "llama_mha_tied", "llama_mqa_bias", "llama_rope_linear", "llama_rope_llama3",
                           "llama_clipped", "qwen2_bias_tied", "mistral_window", "gpt2", "llama_pruned"]

    /// Seeded token ids.
    func tokens(_ n: Int, vocab: Int, seed: UInt64) -> [Int32] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { _ in Int32.random(in: 0..<Int32(vocab), using: &rng) }
    }

    /// Row `i` of the full forward's logits `[1, T, V]`.
    func fullLogits(_ model: TransformerModel, _ ids: [Int32]) throws -> [[Float]] {
        let out = try model.forward(ModelInput(tokens: [ids.map(Int.init)]))
        let v = model.config.vocabSize
        return (0..<ids.count).map { Array(out.logits[($0 * v)..<(($0 + 1) * v)]) }
    }

    /// Feeds two sequences of different lengths in ragged chunks and checks each step's last-token
    /// logits against the full forward of the prefix.
    func checkIncremental(_ model: TransformerModel, _ name: String, length: Int = 13, file: StaticString = #filePath, line: UInt = #line) throws {
        let v = model.config.vocabSize
        let seqs = [tokens(length, vocab: v, seed: 1), tokens(length - 3, vocab: v, seed: 2)]
        let full = try seqs.map { try fullLogits(model, $0) }
        // Chunks per step: prefill of unequal lengths, then single tokens and a 3-token chunk.
        let steps = [[4, 1], [1, 3], [3, 1], [1, 1], [2, 1]]
        let cache = KVCache(model: model, batch: 2, capacity: 2)     // small: the buffers must grow
        var done = [0, 0]
        for step in steps {
            let chunk = (0..<2).map { Array(seqs[$0][done[$0]..<(done[$0] + step[$0])]) }
            let logits = try model.forward(appending: chunk, to: cache)
            for b in 0..<2 {
                done[b] += step[b]
                assertClose(Array(logits[(b * v)..<((b + 1) * v)]), full[b][done[b] - 1], atol: 1e-4, rtol: 1e-4,
                            "\(name) sequence \(b) after \(done[b]) tokens", file: file, line: line)
            }
        }
        XCTAssertEqual(cache.lengths, done, file: file, line: line)
    }

    func testIncrementalForwardMatchesFullForwardOnEveryDecoderFamily() throws {
        for name in Self.decoders {
            let model = try TransformerModel.load(from: try Checkpoint(path: try ReferenceCase(name).folder))
            if name == "llama_clipped" { for l in model.layers { l.structure.attention = .clippedSoftmax(gamma: -0.1, zeta: 1.1) } }
            try checkIncremental(model, name)
        }
    }

    func testMaskedHeadsSkippedSublayersAndGatesKeepWorkingWithTheCache() throws {
        let model = try TransformerModel.load(from: try Checkpoint(path: try ReferenceCase("llama_gqa").folder))
        model.layers[0].structure.maskedHeads = [1, 2]
        model.skippedSublayers = [SublayerID(layer: 1, kind: .mlp), SublayerID(layer: 0, kind: .attention)]
        try checkIncremental(model, "llama_gqa masked/skipped")
        for gated in ["llama_linear", "llama_mlp", "llama_unconditional"] {
            let model = try TransformerModel.load(path: try Fixtures.required("gated/\(gated)", regenerate: "tools/reference/gated_attention_reference.py"))
            XCTAssertNotNil(model.layers[0].attentionGate, gated)
            try checkIncremental(model, gated)
        }
    }

    func testPerSequenceGateAndClassifiersRefuseTheCache() throws {
        let gpt2 = try TransformerModel.load(path: try Fixtures.required("gated/gpt2_per_head_finetune", regenerate: "tools/reference/gated_attention_reference.py"))
        XCTAssertThrowsError(try gpt2.forward(appending: [[1]], to: KVCache(model: gpt2, batch: 1))) { error in
            guard case .unsupportedOption(option: "KV cache", let reason)? = error as? ModelError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("conditional_per_head"), reason)
        }
        let bert = try TransformerModel.load(from: try Checkpoint(path: try ReferenceCase("bert_classifier").folder))
        XCTAssertThrowsError(try bert.forward(appending: [[1]], to: KVCache(model: bert, batch: 1))) { error in
            guard case .unsupportedOption(option: "KV cache", _)? = error as? ModelError else { return XCTFail("\(error)") }
        }
    }

    func testCacheInputErrors() throws {
        let model = try TransformerModel.load(from: try Checkpoint(path: try ReferenceCase("gpt2").folder))
        XCTAssertThrowsError(try model.forward(appending: [[1], [2]], to: KVCache(model: model, batch: 1))) { error in
            XCTAssertEqual(error as? ModelError, .invalidInput(reason: "the KV cache holds 1 sequences, the input has 2"))
        }
        XCTAssertThrowsError(try model.forward(appending: [[1], []], to: KVCache(model: model, batch: 2))) { error in
            XCTAssertEqual(error as? ModelError, .invalidInput(reason: "sequence 1: a cached forward needs at least one new token, right-padded (mask 1…1 0…0)"))
        }
        // GPT-2's learned positions stop at 16: the cache counts the positions already seen.
        let cache = KVCache(model: model, batch: 1)
        _ = try model.forward(appending: [Array(repeating: 1, count: 16)], to: cache)
        XCTAssertThrowsError(try model.forward(appending: [[1]], to: cache)) { error in
            XCTAssertEqual(error as? ModelError, .sequenceTooLong(length: 17, limit: 16, what: "the learned position table of"))
        }
    }

    func testRetainKeepsTheChosenSequences() throws {
        let model = try TransformerModel.load(from: try Checkpoint(path: try ReferenceCase("llama_gqa").folder))
        let seqs = (0..<3).map { tokens(6, vocab: 64, seed: UInt64(10 + $0)) }
        let cache = KVCache(model: model, batch: 3)
        _ = try model.forward(appending: seqs.map { Array($0.prefix(5)) }, to: cache)
        cache.retain([0, 2])
        let logits = try model.forward(appending: [[seqs[0][5]], [seqs[2][5]]], to: cache)
        for (row, s) in [0, 2].enumerated() {
            assertClose(Array(logits[(row * 64)..<((row + 1) * 64)]), try fullLogits(model, seqs[s])[5], atol: 1e-4, rtol: 1e-4, "sequence \(s)")
        }
    }

    // MARK: Sliding window (transformers' semantics: query i sees keys j with i − window < j ≤ i)

    func windowCase(_ name: String) throws -> (TransformerModel, SafetensorsFile) {
        let folder = try Fixtures.required("generation/\(name)", regenerate: "/root/venv/bin/python tools/reference/generation_reference.py")
        return (try TransformerModel.load(from: try Checkpoint(path: folder)), try SafetensorsFile(path: folder + "/reference.safetensors"))
    }

    func testSlidingWindowFullAndCachedForwardMatchTransformers() throws {
        for name in ["mistral_window5", "qwen2_window5"] {
            let (model, ref) = try windowCase(name)
            XCTAssertEqual(model.config.slidingWindow, 5, name)
            let ids = try ref.tensor("input_ids").floats().map { Int32($0) }
            let expected = try ref.tensor("output").floats()
            let t = 20, v = model.config.vocabSize
            XCTAssertEqual(ids.count, 2 * t)
            let rows = (0..<2).map { Array(ids[($0 * t)..<(($0 + 1) * t)]).map(Int.init) }
            let out = try model.forward(ModelInput(tokens: rows))
            assertClose(out.logits, expected, atol: 1e-4, rtol: 1e-4, "\(name) full forward")
            // Cached: a 3-token prefill, then one token at a time well past the window.
            let cache = KVCache(model: model, batch: 2)
            for end in [3] + Array(4...t) {
                let start = end == 3 ? 0 : end - 1
                let logits = try model.forward(appending: rows.map { $0[start..<end].map { Int32($0) } }, to: cache)
                for b in 0..<2 {
                    let row = (b * t + end - 1) * v
                    assertClose(Array(logits[(b * v)..<((b + 1) * v)]), Array(expected[row..<(row + v)]), atol: 1e-4, rtol: 1e-4,
                                "\(name) cached, sequence \(b), position \(end - 1)")
                }
            }
        }
    }

    func testQwen2SlidesOnlyInTheLayersItsConfigMarks() throws {
        let (model, _) = try windowCase("qwen2_window5")
        XCTAssertNil(model.config.slidingWindow(layer: 0))
        XCTAssertEqual(model.config.slidingWindow(layer: 1), 5)
        let json: [String: Any] = ["model_type": "qwen2", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 2,
                                   "num_attention_heads": 2, "use_sliding_window": true, "sliding_window": 4, "layer_types": ["full_attention"]]
        XCTAssertThrowsError(try ModelConfig.from(json: json)) { error in
            XCTAssertEqual(error as? ModelError, .invalidConfig(key: "layer_types", reason: "expected 2 entries of \"sliding_attention\" or \"full_attention\""))
        }
    }
}
