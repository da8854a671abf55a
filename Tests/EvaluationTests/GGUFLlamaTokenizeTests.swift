import Foundation
import XCTest
@testable import Checkpoints
import Evaluation
import Tokenizers
import TestSupport

/// llama.cpp's `llama-tokenize` run on GGUF files our writer made (`compress convert`, SentencePiece
/// and byte-level BPE vocabularies: gpt-2, llama-bpe, qwen2, smollm) gives the ids our tokenizer gives,
/// on WikiText-2 lines, Unicode, whitespace runs, digits and contractions
/// (tools/reference/gguf_llama_tokenize_check.py).
final class GGUFLlamaTokenizeTests: XCTestCase {
    static let regenerate = "swift build -c release && WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp /root/venv/bin/python tools/reference/gguf_llama_tokenize_check.py"

    func reference() throws -> (texts: [String], files: [String: [String: Any]]) {
        let path = try Fixtures.required("gguf/tokenizer/llama_tokenize_check.json", regenerate: Self.regenerate)
        let json = try XCTUnwrap(Fixtures.readJSON(path) as? [String: Any])
        return (try XCTUnwrap(json["texts"] as? [String]), try XCTUnwrap(json["files"] as? [String: [String: Any]]))
    }

    func folder(_ source: String) -> String? {
        if source.hasPrefix("cache:") {
            let path = NSHomeDirectory() + "/.cache/whittle/models/" + source.dropFirst(6)
            return FileManager.default.fileExists(atPath: path + "/tokenizer.json") ? path : nil
        }
        return Fixtures.path(String(source.dropFirst("fixtures/".count)))
    }

    /// Our writer's tokenizer metadata for `folder`, as a vocabulary-only GGUF (what `compress convert` writes, minus tensors).
    func writeVocabulary(_ folder: String, to path: String) throws -> [String: GGUFValue] {
        func json(_ name: String) -> [String: Any]? {
            (try? Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        }
        let config = try XCTUnwrap(json("config.json"))
        let entries = try GGUFTokenizerMetadata.entries(tokenizerJSON: folder + "/tokenizer.json", vocabSize: try XCTUnwrap(config["vocab_size"] as? Int),
                                                        config: config, tokenizerConfig: json("tokenizer_config.json"))
        try GGUFWriter.write(to: path, metadata: entries, tensors: []) { _ in fatalError("no tensors") }
        return Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    func testLlamaTokenizeOnOurWrittenFilesGivesOurIds() throws {
        let (texts, files) = try reference()
        let temp = NSTemporaryDirectory() + "whittle-llama-tokenize-\(getpid())"
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: temp) }
        XCTAssertEqual(Set(files.keys).subtracting(["smollm2"]), ["spm", "gpt-2", "llama-bpe", "qwen2"], "fixture: every vocabulary kind")
        for (name, file) in files.sorted(by: { $0.key < $1.key }) {
            guard let folder = folder(try XCTUnwrap(file["source"] as? String)) else {
                print("GGUFLlamaTokenizeTests: \(name) skipped: SmolLM2 not in ~/.cache/whittle/models (../shared/tools/get-smollm2.sh)")
                continue
            }
            // The fixture was made from what our writer writes today.
            let path = temp + "/\(name).gguf"
            let meta = try writeVocabulary(folder, to: path)
            let written = try XCTUnwrap(file["written"] as? [String: Any])
            XCTAssertEqual(meta["tokenizer.ggml.model"]?.string, written["tokenizer.ggml.model"] as? String, name)
            XCTAssertEqual(meta["tokenizer.ggml.pre"]?.string, written["tokenizer.ggml.pre"] as? String, name)
            XCTAssertEqual(meta["tokenizer.ggml.tokens"]?.array?.count, written["tokens"] as? Int, name)
            XCTAssertEqual(meta["tokenizer.ggml.merges"]?.array?.count ?? 0, written["merges"] as? Int, name)

            let llamaCpp = try XCTUnwrap(file["llama_cpp"] as? [[Int]])
            let hf = try XCTUnwrap(file["transformers"] as? [[Int]])
            XCTAssertEqual(llamaCpp.count, texts.count)
            let fromGGUF = try Tokenizer.fromGGUF(path: path)      // our reader of our file
            let fromFolder = try Tokenizer.load(folder: folder)    // our tokenizer on the source tokenizer.json
            for (k, text) in texts.enumerated() {
                XCTAssertEqual(fromGGUF.encode(text, addSpecialTokens: false), llamaCpp[k], "\(name): \(text)")
                XCTAssertEqual(fromFolder.encode(text, addSpecialTokens: false), hf[k], "\(name) (source, transformers): \(text)")
                if name != "spm" {   // byte-level BPE: llama.cpp, transformers and we agree on every text
                    XCTAssertEqual(llamaCpp[k], hf[k], "fixture: \(name): llama.cpp and transformers agree on \(text)")
                }
            }
        }
    }
}
