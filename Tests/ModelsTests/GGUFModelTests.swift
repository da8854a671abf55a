import Checkpoints
import Foundation
import Models
import TestSupport
import XCTest

/// A llama.cpp-style GGUF (llama.cpp names, q/k rows permuted by the converter's rule) loads through
/// `GGUFTensorStore` as the Hugging Face model it came from: logits equal transformers' own GGUF
/// loading (tools/reference/gguf_llama_reference.py) at 1e-4.
final class GGUFModelTests: XCTestCase {
    static let regenerate = "/root/venv/bin/python tools/reference/gguf_llama_reference.py"

    func fixture(_ name: String) throws -> String { try Fixtures.required("gguf/llama-tiny/\(name)", regenerate: Self.regenerate) }

    func checkLogits(_ variant: String, key: String) throws {
        let reference = try SafetensorsFile(path: try fixture("reference.safetensors"))
        let ids = try reference.tensor("ids").floats().map { Int($0) }
        let model = try TransformerModel.load(path: try fixture("\(variant).gguf"))
        let out = try model.forward(ModelInput(tokens: [ids]))
        let want = try reference.tensor("logits_\(key)")
        XCTAssertEqual(out.shape, [1] + want.shape)
        assertClose(out.logits, want.floats(), atol: 1e-4, "\(variant).gguf logits vs transformers' GGUF loader")
    }

    func testF32LlamaGGUFLogitsMatchTransformers() throws { try checkLogits("f32", key: "f32") }
    func testQ8_0LlamaGGUFLogitsMatchTransformers() throws { try checkLogits("q8_0", key: "q8_0") }
    func testTiedLlamaGGUFWithoutOutputWeightMatchesTransformers() throws { try checkLogits("tied-f32", key: "tied_f32") }
    /// `qwen2`: q/k/v biases, rows stored unpermuted, tied embeddings.
    func testQwen2GGUFWithBiasesMatchesTransformers() throws { try checkLogits("qwen2-q8_0", key: "qwen2_q8_0") }

    func testConfigAndNamesComeFromTheGGUFMetadata() throws {
        let store = try GGUFTensorStore(path: try fixture("f32.gguf"))
        XCTAssertEqual(store.config["model_type"] as? String, "llama")
        XCTAssertEqual(store.config["vocab_size"] as? Int, 96)
        XCTAssertEqual(store.config["hidden_size"] as? Int, 64)
        XCTAssertEqual(store.config["intermediate_size"] as? Int, 96)
        XCTAssertEqual(store.config["num_hidden_layers"] as? Int, 2)
        XCTAssertEqual(store.config["num_attention_heads"] as? Int, 4)
        XCTAssertEqual(store.config["num_key_value_heads"] as? Int, 2)
        XCTAssertEqual(store.config["max_position_embeddings"] as? Int, 64)
        XCTAssertEqual(store.config["rope_theta"] as? Double, 10000)
        XCTAssertEqual(store.config["rms_norm_eps"] as? Double, 1e-5)
        XCTAssertEqual(store.config["tie_word_embeddings"] as? Bool, false)
        XCTAssertEqual(try GGUFTensorStore(path: try fixture("tied-f32.gguf")).config["tie_word_embeddings"] as? Bool, true)
        for name in ["model.embed_tokens.weight", "lm_head.weight", "model.norm.weight", "model.layers.1.input_layernorm.weight",
                     "model.layers.1.post_attention_layernorm.weight", "model.layers.0.self_attn.k_proj.weight",
                     "model.layers.0.self_attn.o_proj.weight", "model.layers.1.mlp.down_proj.weight"] {
            XCTAssertTrue(store.names.contains(name), name)
        }
        XCTAssertEqual(store.spec("model.layers.0.self_attn.k_proj.weight")?.shape, [32, 64])
        XCTAssertEqual(store.spec("model.embed_tokens.weight")?.shape, [96, 64])
    }

    /// The converter's permute on 2 heads of 4 rows stores HF rows in the order 0 2 1 3 | 4 6 5 7.
    func testUnpermuteInvertsTheConverterPermutation() {
        let stored: [Float] = [0, 2, 1, 3, 4, 6, 5, 7].flatMap { [Float($0), Float($0) + 0.5] }   // 2 columns
        let hf = unpermuteGGUFRows(stored, rows: 8, columns: 2, heads: 2)
        XCTAssertEqual(hf, (0..<8).flatMap { [Float($0), Float($0) + 0.5] })
    }

    /// A copy of f32.gguf with `llama.block_count` renamed (same length) must name the missing key;
    /// one with a block tensor renamed must name that tensor.
    func testMissingKeyOrTensorIsNamed() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: try fixture("f32.gguf")))
        func patched(_ from: String, _ to: String) throws -> String {
            let range = try XCTUnwrap(bytes.range(of: Data(from.utf8)))
            var copy = bytes
            copy.replaceSubrange(range, with: Data(to.utf8))
            let path = NSTemporaryDirectory() + "whittle-gguf-\(getpid())-\(to).gguf"
            try copy.write(to: URL(fileURLWithPath: path))
            addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
            return path
        }
        XCTAssertThrowsError(try GGUFTensorStore(path: try patched("llama.block_count", "llama.block_counx"))) { error in
            XCTAssertTrue("\(error)".contains("metadata key 'llama.block_count' is missing"), "\(error)")
        }
        XCTAssertThrowsError(try GGUFTensorStore(path: try patched("blk.1.ffn_up.weight", "blk.1.ffn_up.weighz"))) { error in
            XCTAssertTrue("\(error)".contains("'blk.1.ffn_up.weighz' has no Hugging Face name"), "\(error)")
        }
        XCTAssertThrowsError(try GGUFTensorStore(path: Fixtures.path("gguf/metadata.gguf"))) { error in
            XCTAssertTrue("\(error)".contains("general.architecture"), "\(error)")
        }
    }
}

/// GGUF files written by llama.cpp's own converter (tools/reference/gguf_spm_reference.py): a
/// SentencePiece vocabulary, and Llama 3.1 rope scaling stored as `rope_freqs.weight`. Logits equal
/// transformers' forward of the Hugging Face folders they were converted from.
final class GGUFConverterFileTests: XCTestCase {
    static let regenerate = "WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp PYTHONPATH=/tmp/whittle-llamacpp/pydeps /root/venv/bin/python tools/reference/gguf_spm_reference.py"

    func fixture(_ name: String) throws -> String { try Fixtures.required("gguf/spm/\(name)", regenerate: Self.regenerate) }

    func checkLogits(_ file: String, key: String) throws {
        let reference = try SafetensorsFile(path: try fixture("reference.safetensors"))
        let ids = try reference.tensor("ids").floats().map { Int($0) }
        let model = try TransformerModel.load(path: try fixture(file))
        let out = try model.forward(ModelInput(tokens: [ids]))
        let want = try reference.tensor(key)
        XCTAssertEqual(out.shape, [1] + want.shape)
        assertClose(out.logits, want.floats(), atol: 1e-4, "\(file) logits vs transformers")
    }

    func testSentencePieceModelLogitsMatchTransformers() throws { try checkLogits("spm-f32.gguf", key: "logits_spm") }

    /// rope_freqs.weight is read back as a llama3 rope_scaling giving the same divisors.
    func testLlama3RopeFreqsLogitsMatchTransformers() throws { try checkLogits("llama3-f32.gguf", key: "logits_llama3") }

    func testRopeFreqsBecomesALlama3RopeScaling() throws {
        let store = try GGUFTensorStore(path: try fixture("llama3-f32.gguf"))
        XCTAssertFalse(store.names.contains { $0.contains("rope") }, "rope_freqs is no Hugging Face tensor")
        let rope = try XCTUnwrap(store.config["rope_scaling"] as? [String: Any])
        XCTAssertEqual(rope["rope_type"] as? String, "llama3")
        XCTAssertEqual(rope["factor"] as? Double, 8)
        // The divisors fix orig/high and orig/low: the fixture's 512/32 and 512/1 wavelengths.
        let original = try XCTUnwrap(rope["original_max_position_embeddings"] as? Int)
        XCTAssertEqual(Double(original) / (rope["high_freq_factor"] as! Double), 512.0 / 32, accuracy: 1e-3)
        XCTAssertEqual(Double(original) / (rope["low_freq_factor"] as! Double), 512.0 / 1, accuracy: 0.05)
    }

    /// Divisors no llama3 rule can give are refused naming the tensor (here: the smooth band not monotone).
    func testRopeFreqsThatAreNotLlama3AreRefusedByName() {
        let stored: [Float] = [1, 3, 2, 8]
        guard case let .failure(reason) = GGUFRopeFreqs.llama3Scaling(stored: stored, theta: 10000, dim: 8) else {
            return XCTFail("accepted")
        }
        XCTAssertTrue(reason.text.contains("llama3 rope scaling"), reason.text)
        guard case .failure = GGUFRopeFreqs.llama3Scaling(stored: [1, 2], theta: 10000, dim: 8) else { return XCTFail("accepted a short tensor") }
    }
}
