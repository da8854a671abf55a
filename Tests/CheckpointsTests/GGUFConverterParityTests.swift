import Foundation
import XCTest
@testable import Checkpoints
import Tensors
import TestSupport

/// Our GGUF export of a Hugging Face folder against what llama.cpp's converter (convert_hf_to_gguf.py
/// --outtype f32) wrote from the same folder (tools/reference/gguf_spm_reference.py): Llama 3.1 rope
/// scaling as `rope_freqs.weight`, and a SentencePiece tokenizer as `tokenizer.ggml.model` "llama".
final class GGUFConverterParityTests: XCTestCase {
    static let regenerate = "WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp PYTHONPATH=/tmp/whittle-llamacpp/pydeps /root/venv/bin/python tools/reference/gguf_spm_reference.py"

    func fixture(_ name: String) throws -> String { try Fixtures.required("gguf/spm/\(name)", regenerate: Self.regenerate) }

    func export(_ folder: String, to path: String) throws -> GGUFFile {
        let source = try fixture(folder)
        try GGUFExport.write(try Checkpoint(path: source), to: path, type: .f32, tokenizerFolder: source)
        return try GGUFFile(path: path)
    }

    /// rope_freqs.weight equals the converter's, bit for bit, and is the only rope key or tensor added.
    func testLlama3RopeScalingWritesTheConvertersRopeFreqs() throws {
        let temp = TemporaryFolder()
        let ours = try export("hf-llama3", to: temp.file("ours.gguf"))
        let theirs = try GGUFFile(path: try fixture("llama3-f32.gguf"))
        let name = GGUFRopeFreqs.tensorName
        XCTAssertEqual(ours.info(name)?.type, .F32)
        XCTAssertEqual(ours.info(name)?.shape, theirs.info(name)?.shape)
        XCTAssertEqual(try ours.floats(name).map(\.bitPattern), try theirs.floats(name).map(\.bitPattern))
        XCTAssertEqual(Set(ours.names), Set(theirs.names))
        XCTAssertEqual(ours.keys.filter { $0.contains("rope") }.sorted(), theirs.keys.filter { $0.contains("rope") }.sorted())
        for key in ours.keys where key.hasPrefix("llama.") { XCTAssertEqual(ours.metadata[key], theirs.metadata[key], key) }
        // And it reads back as the same model: the same llama3 divisors.
        let back = try GGUFTensorStore(ours).config["rope_scaling"] as? [String: Any]
        XCTAssertEqual(back?["rope_type"] as? String, "llama3")
    }

    /// A SentencePiece tokenizer.json is written as the converter writes the tokenizer.model: the
    /// same tokens, token types and special ids; the scores differ (ours come from the merge ranks),
    /// so the check of the scores is that they give the same merges (hence the same ids, which
    /// EvaluationTests.GGUFTokenizerTests compares with llama-tokenize's) as sentencepiece's scores.
    func testSentencePieceTokenizerIsWrittenAsTheConverterWritesIt() throws {
        let temp = TemporaryFolder()
        let ours = try export("hf", to: temp.file("ours.gguf"))
        let theirs = try GGUFFile(path: try fixture("spm-f32.gguf"))
        for key in ["tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                    "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
                    "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token"] {
            XCTAssertEqual(ours.metadata[key], theirs.metadata[key], key)
        }
        XCTAssertEqual(Set(ours.keys.filter { $0.hasPrefix("tokenizer.") }), Set(theirs.keys.filter { $0.hasPrefix("tokenizer.") }))
        let rebuilt = try JSONSerialization.jsonObject(with: try GGUFTokenizerJSON.document(ours)) as? [String: Any]
        let theirMerges = try JSONSerialization.jsonObject(with: try GGUFTokenizerJSON.document(theirs)) as? [String: Any]
        XCTAssertEqual((rebuilt?["model"] as? [String: Any])?["merges"] as? [String],
                       (theirMerges?["model"] as? [String: Any])?["merges"] as? [String], "the same merge order from our scores as from sentencepiece's")
    }
}
