import Foundation
import XCTest
@testable import Checkpoints
import StrictJSON
import TestSupport

/// `tokenizer.ggml.pre` as we write and read it, against what llama.cpp's own converter writes
/// (convert_hf_to_gguf.py --vocab-only, tools/reference/gguf_pre_reference.py).
final class GGUFPreTokenizerTests: XCTestCase {
    static let regenerate = "WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp /root/venv/bin/python tools/reference/gguf_pre_reference.py"

    func reference() throws -> [String: [String: Any]] {
        let path = try Fixtures.required("gguf/tokenizer/pre.json", regenerate: Self.regenerate)
        let json = try XCTUnwrap(Fixtures.readJSON(path) as? [String: Any])
        return try XCTUnwrap(json["folders"] as? [String: [String: Any]])
    }

    func written(_ tokenizerJSON: String, vocabSize: Int, config: [String: Any] = [:]) throws -> [String: GGUFValue] {
        let entries = try GGUFTokenizerMetadata.entries(tokenizerJSON: tokenizerJSON, vocabSize: vocabSize, config: config)
        return Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    /// SmolLM2's tokenizer.json (as get-smollm2.sh rebuilds it: a lone ByteLevel, its Digits step lost)
    /// is written "smollm", the converter's name for it, not "gpt-2" as its description alone says.
    func testSmolLM2IsWrittenWithTheConvertersPreName() throws {
        guard let tokenizer = Fixtures.shared("tokenizers/smollm2-tokenizer.json") else {
            throw XCTSkip("../shared/tokenizers/smollm2-tokenizer.json not found")
        }
        guard let ref = try reference()["smollm2"] else { throw XCTSkip("pre.json was generated without SmolLM2 (run get-smollm2.sh, then \(Self.regenerate))") }
        let config = try XCTUnwrap(ref["config"] as? [String: Any])
        let meta = try written(tokenizer, vocabSize: try XCTUnwrap(config["vocab_size"] as? Int), config: config)
        XCTAssertEqual(ref["converter_pre"] as? String, "smollm", "fixture: the converter's choice")
        XCTAssertEqual(meta["tokenizer.ggml.pre"], .string("smollm"))
        let tokens = try XCTUnwrap(meta["tokenizer.ggml.tokens"]?.array).map { $0.string ?? "" }
        XCTAssertEqual(String(GGUFPreTokenizer.fingerprint(tokens), radix: 16), ref["vocab_fnv1a64"] as? String, "Python's FNV-1a of the same list")
    }

    /// A vocabulary the converter does not know (it refuses the folder) is named by its description:
    /// GPT-2's lone ByteLevel, for the byte-level BPE trained here. (llama-tokenize on our written
    /// files checks the names give our ids: GGUFLlamaTokenizeTests.)
    func testUnknownVocabularyIsNamedByItsDescription() throws {
        let ref = try XCTUnwrap(try reference()["shakespeare-llama"])
        XCTAssert(ref["converter_pre"] is NSNull, "fixture: the converter refuses this vocabulary")
        let meta = try written(Fixtures.path("models/shakespeare-llama/tokenizer.json"), vocabSize: 1024)
        XCTAssertEqual(meta["tokenizer.ggml.pre"], .string("gpt-2"))
        let tokens = try XCTUnwrap(meta["tokenizer.ggml.tokens"]?.array).map { $0.string ?? "" }
        XCTAssertEqual(String(GGUFPreTokenizer.fingerprint(tokens), radix: 16), ref["vocab_fnv1a64"] as? String)
        let llama3 = try written(Fixtures.path("tokenizers/llama3-bpe.tokenizer.json"), vocabSize: 1500)
        XCTAssertEqual(llama3["tokenizer.ggml.pre"], .string("llama-bpe"))
    }

    /// Descriptions: Digits one by one + ByteLevel is SmolLM's (and StarCoder's) layout; Qwen2's regex.
    func testDescriptionsNameLlamaCppPreTokenizers() throws {
        func parse(_ s: String) throws -> JSON { try JSON.parse(bytes: Array(s.utf8)) }
        let byteLevel = #"{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}"#
        XCTAssertEqual(GGUFPreTokenizer.described(try parse(byteLevel)), "gpt-2")
        XCTAssertEqual(GGUFPreTokenizer.described(try parse(#"{"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true}, \#(byteLevel)]}"#)), "smollm")
        XCTAssertNil(GGUFPreTokenizer.described(try parse(#"{"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": false}, \#(byteLevel)]}"#)))
        let qwen = GGUFPreTokenizer.splitPatterns.first { $0.value == "qwen2" }!.key
        let split = try JSON.parse(bytes: Array(try JSONSerialization.data(withJSONObject: ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": qwen], "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false]]])))
        XCTAssertEqual(GGUFPreTokenizer.described(split), "qwen2")
    }

    /// A tokenizer.json whose pre-tokenizer llama.cpp has no name for: one line naming it.
    func testUnnamedPreTokenizerIsRefusedInOneLine() throws {
        let temp = TemporaryFolder()
        var doc = try XCTUnwrap(Fixtures.readJSON(Fixtures.path("models/shakespeare-llama/tokenizer.json")) as? [String: Any])
        doc["pre_tokenizer"] = ["type": "Whitespace"]
        let path = temp.file("tokenizer.json")
        try JSONSerialization.data(withJSONObject: doc).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try written(path, vocabSize: 1024)) {
            XCTAssertEqual("\($0)", "\(path): 'pre_tokenizer': 'Whitespace' is not a byte-level pre-tokenizer llama.cpp names (GPT-2 ByteLevel, Digits + ByteLevel, Llama 3 or Qwen2 Split + ByteLevel)")
        }
    }

    /// Reading: names llama.cpp treats alike are rebuilt alike; an unknown name is one line.
    func testReadingAnUnknownPreNameIsRefusedInOneLine() throws {
        let temp = TemporaryFolder()
        let source = try GGUFFile(path: try Fixtures.required("gguf/tokenizer/shakespeare-vocab.gguf",
                                                               regenerate: "/root/venv/bin/python tools/reference/gguf_tokenizer_reference.py"))
        func withPre(_ name: String) throws -> GGUFFile {
            let path = temp.file("\(name).gguf")
            let metadata = source.keys.map { key in (key: key, value: key == "tokenizer.ggml.pre" ? GGUFValue.string(name) : source.metadata[key]!) }
            try GGUFWriter.write(to: path, metadata: metadata, tensors: []) { _ in fatalError("no tensors") }
            return try GGUFFile(path: path)
        }
        let starcoder = try JSONSerialization.jsonObject(with: try GGUFTokenizerJSON.document(try withPre("starcoder"))) as? [String: Any]
        let smollm = try JSONSerialization.jsonObject(with: try GGUFTokenizerJSON.document(try withPre("smollm"))) as? [String: Any]
        XCTAssertEqual(starcoder?["pre_tokenizer"] as? NSDictionary, smollm?["pre_tokenizer"] as? NSDictionary)
        let jais = try withPre("jais")
        XCTAssertThrowsError(try GGUFTokenizerJSON.document(jais)) {
            XCTAssertEqual("\($0)", "\(jais.path): 'tokenizer.ggml.pre': 'jais' is not a pre-tokenizer we rebuild (gpt-2, smollm, llama-bpe, qwen2 and the names llama.cpp treats like them)")
        }
    }
}
