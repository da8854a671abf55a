import Foundation
import XCTest
@testable import Checkpoints
import Evaluation
import Tokenizers
import TestSupport

/// A `.gguf` path tokenizes: the tokenizer rebuilt from `tokenizer.ggml.*` gives llama.cpp's own ids
/// (`llama-tokenize`, tools/reference/gguf_tokenizer_reference.py).
final class GGUFTokenizerTests: XCTestCase {
    static let regenerate = "WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp /root/venv/bin/python tools/reference/gguf_tokenizer_reference.py"

    func reference() throws -> [String: Any] {
        let path = try Fixtures.required("gguf/tokenizer/reference.json", regenerate: Self.regenerate)
        return try XCTUnwrap(Fixtures.readJSON(path) as? [String: Any])
    }

    func check(_ tokenizer: Tokenizer, key: String) throws {
        let ref = try reference()
        let texts = try XCTUnwrap(ref["texts"] as? [String])
        let ids = try XCTUnwrap(ref[key] as? [[Int]])
        for (text, expected) in zip(texts, ids) {
            XCTAssertEqual(tokenizer.encode(text, addSpecialTokens: false), expected, "\(key): \(text)")
        }
    }

    /// gpt-2 pre-tokenizer, a vocabulary-only GGUF made by the gguf Python package.
    func testByteLevelBPEFromGGUFMetadataMatchesLlamaCpp() throws {
        let path = try Fixtures.required("gguf/tokenizer/shakespeare-vocab.gguf", regenerate: Self.regenerate)
        try check(try Tokenizer.fromGGUF(path: path), key: "shakespeare")
    }

    /// Our writer's tokenizer metadata equals what the gguf Python package wrote from the same tokenizer.json.
    func testWrittenTokenizerMetadataEqualsGGUFPys() throws {
        let theirs = try GGUFFile(path: try Fixtures.required("gguf/tokenizer/shakespeare-vocab.gguf", regenerate: Self.regenerate))
        let folder = Fixtures.path("models/shakespeare-llama")
        let config = try XCTUnwrap(Fixtures.readJSON(folder + "/config.json") as? [String: Any])
        let tokenizerConfig = try XCTUnwrap(Fixtures.readJSON(folder + "/tokenizer_config.json") as? [String: Any])
        let ours = try GGUFTokenizerMetadata.entries(tokenizerJSON: folder + "/tokenizer.json", vocabSize: 1024, config: config,
                                                     tokenizerConfig: tokenizerConfig)
        for (key, value) in ours {
            XCTAssertEqual(value, theirs.metadata[key], key)
        }
        XCTAssertEqual(Set(ours.map(\.key)), Set(theirs.keys.filter { $0.hasPrefix("tokenizer.") }))
    }

    /// smollm pre-tokenizer (digits split one by one), the real SmolLM2 file.
    func testSmolLM2GGUFTokenizesLikeLlamaCpp() throws {
        guard let path = smolLM2() else {
            throw XCTSkip("SmolLM2 GGUF not in ~/.cache/whittle/models (run ../shared/tools/get-smollm2.sh)")
        }
        guard try reference()["smollm2"] is [[Int]] else { throw XCTSkip("reference.json was generated without the SmolLM2 file") }
        try check(try Tokenizer.fromGGUF(path: path), key: "smollm2")
    }

    func smolLM2() -> String? {
        let path = NSHomeDirectory() + "/.cache/whittle/models/smollm2-135m-instruct.Q4_1.gguf"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    // MARK: SentencePiece (`tokenizer.ggml.model` "llama")

    static let regenerateSPM = "WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp PYTHONPATH=/tmp/whittle-llamacpp/pydeps /root/venv/bin/python tools/reference/gguf_spm_reference.py"

    func spmReference() throws -> [String: Any] {
        let path = try Fixtures.required("gguf/spm/reference.json", regenerate: Self.regenerateSPM)
        return try XCTUnwrap(Fixtures.readJSON(path) as? [String: Any])
    }

    /// A SentencePiece BPE vocabulary (byte fallback, split digits) written by llama.cpp's own
    /// converter from a tokenizer.model: our rebuilt tokenizer gives llama-tokenize's ids, leading
    /// and doubled spaces, tabs, bytes of unseen characters and the bos llama.cpp adds included.
    func testSentencePieceGGUFTokenizesLikeLlamaCpp() throws {
        let path = try Fixtures.required("gguf/spm/spm-f32.gguf", regenerate: Self.regenerateSPM)
        let tokenizer = try Tokenizer.fromGGUF(path: path)
        let ref = try spmReference()
        let texts = try XCTUnwrap(ref["texts"] as? [String])
        let ids = try XCTUnwrap(ref["llama_cpp"] as? [[Int]])
        XCTAssertEqual(texts.count, ids.count)
        for (text, expected) in zip(texts, ids) {
            XCTAssertEqual(tokenizer.encode(text, addSpecialTokens: false), expected, text)
            XCTAssertEqual(tokenizer.decode(expected), text, "decoding is lossless (byte fallback, one leading space stripped)")
        }
        XCTAssertEqual(tokenizer.encode(texts[0]), try XCTUnwrap(ref["llama_cpp_with_bos"] as? [Int]), "bos by default")
        // transformers agrees wherever it does not treat a leading space differently (its Metaspace
        // pre-tokenizer does not add "▁" to a text that starts with one; llama.cpp and we do).
        let hf = try XCTUnwrap(ref["transformers"] as? [[Int]])
        for (i, text) in texts.enumerated() where !text.hasPrefix(" ") {
            XCTAssertEqual(ids[i], hf[i], "fixture: llama.cpp and transformers agree on \(text)")
        }
    }

    func testSentencePieceWithoutScoresIsNamed() throws {
        let path = try Fixtures.required("gguf/spm/spm-f32.gguf", regenerate: Self.regenerateSPM)
        let file = try GGUFFile(path: path)
        var meta = file.metadata
        meta["tokenizer.ggml.scores"] = nil
        XCTAssertThrowsError(try GGUFTokenizerJSON.spmScores(meta, count: 512, fail: { .ggufInvalidTokenizer(path: "x", key: $0, reason: $1) })) {
            XCTAssertEqual("\($0)", "x: 'tokenizer.ggml.scores': missing or not an array (SentencePiece vocabularies need scores)")
        }
    }

    func testUnsupportedTokenizerIsNamed() throws {
        let file = try GGUFFile(path: Fixtures.path("gguf/llama-tiny/f32.gguf"))
        XCTAssertThrowsError(try GGUFTokenizerJSON.document(file)) {
            XCTAssertEqual("\($0)", "\(file.path): 'tokenizer.ggml.model': missing: the file has no tokenizer")
        }
    }
}
