import Foundation
import StrictJSON

/// A byte-level BPE `tokenizer.json` as llama.cpp's `tokenizer.ggml.*` metadata, the way
/// convert_hf_to_gguf.py's `_set_vocab_gpt2` writes it: `model` "gpt2", the token strings by id
/// (ids the vocabulary skips become `[PAD<id>]`, type unused), token types (1 normal, 3 control for
/// special added tokens, 4 user-defined for other added tokens, 5 unused), merges as "a b", the
/// pre-tokenizer name llama.cpp knows it by, and the special token ids.
public enum GGUFTokenizerMetadata {
    public enum TokenType: Int32 { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }

    /// The metadata entries for `tokenizer.json` at `path`; `vocabSize` pads the token list to the
    /// embedding's row count; `config` (config.json) and `tokenizerConfig` (tokenizer_config.json,
    /// optional) supply bos/eos/pad ids and `add_bos_token`.
    public static func entries(tokenizerJSON path: String, vocabSize: Int, config: [String: Any],
                               tokenizerConfig: [String: Any]? = nil) throws -> [(key: String, value: GGUFValue)] {
        func fail(_ where_: String, _ reason: String) -> CheckpointError {
            .ggufInvalidTokenizer(path: path, key: where_, reason: reason)
        }
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw CheckpointError.writeFailed(path: path, reason: "cannot read the tokenizer: \(error.localizedDescription)")
        }
        let json: JSON
        do { json = try JSON.parse(bytes: bytes) } catch { throw fail("", "not valid JSON (\(error))") }
        guard let model = json["model"], case let .string(type)? = model["type"] else { throw fail("model.type", "missing") }
        guard type == "BPE" else { throw fail("model.type", "'\(type)' cannot be written to GGUF yet (only byte-level BPE)") }
        let sentencePiece = GGUFTokenizerSPM.isSentencePiece(json)   // Llama-2 style: written as model "llama" (GGUFTokenizerSPM)
        guard case let .object(vocabEntries)? = model["vocab"] else { throw fail("model.vocab", "expected an object") }
        var tokens = [String?](repeating: nil, count: vocabSize)
        var types = [TokenType](repeating: .normal, count: vocabSize)
        func place(_ token: String, _ idJSON: JSON, _ where_: String) throws {
            guard case let .number(text) = idJSON, let id = Int(text), id >= 0 else { throw fail(where_, "expected a non-negative integer id") }
            guard id < vocabSize else { throw fail(where_, "id \(id) is past the embedding's \(vocabSize) rows") }
            tokens[id] = token
        }
        for (token, id) in vocabEntries { try place(token, id, "model.vocab.\(token)") }
        if case let .array(added)? = json["added_tokens"] {
            for (k, entry) in added.enumerated() {
                guard case let .string(content)? = entry["content"], let id = entry["id"] else { throw fail("added_tokens[\(k)]", "needs content and id") }
                try place(content, id, "added_tokens[\(k)].id")
                if case let .number(text) = id, let i = Int(text) { types[i] = entry["special"] == .bool(true) ? .control : .userDefined }
            }
        }
        var merges: [GGUFValue] = []
        if case let .array(items)? = model["merges"] {
            for (k, item) in items.enumerated() {
                switch item {
                case let .string(s): merges.append(.string(s))
                case let .array(pair) where pair.count == 2:
                    guard case let .string(a) = pair[0], case let .string(b) = pair[1] else { throw fail("model.merges[\(k)]", "expected two strings") }
                    merges.append(.string(a + " " + b))
                default: throw fail("model.merges[\(k)]", "expected \"a b\" or [a, b]")
                }
            }
        }
        let written = tokens.enumerated().map { $1 ?? "[PAD\($0)]" }
        guard let preName = sentencePiece ? "default" : GGUFPreTokenizer.name(tokens: written, preTokenizer: json["pre_tokenizer"] ?? .null) else {
            let found = json["pre_tokenizer"]?["type"].flatMap { if case let .string(t) = $0 { return "'\(t)'" } else { return nil } } ?? "none"
            throw fail("pre_tokenizer", "\(found) is not a byte-level pre-tokenizer llama.cpp names (GPT-2 ByteLevel, Digits + ByteLevel, Llama 3 or Qwen2 Split + ByteLevel)")
        }
        let tokenValues = written.map { GGUFValue.string($0) }
        for (i, token) in tokens.enumerated() where token == nil { types[i] = .unused }

        var out: [(key: String, value: GGUFValue)] = [
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string(preName)),
            ("tokenizer.ggml.tokens", .array(.string, tokenValues)),
            ("tokenizer.ggml.token_type", .array(.int32, types.map { .int32($0.rawValue) })),
            ("tokenizer.ggml.merges", .array(.string, merges)),
        ]
        // Special ids: tokenizer_config.json's token strings looked up in the vocabulary (first match; a scan,
        // as special tokens sit near the start — a dictionary of the whole vocabulary cost ~30 ms), else config.json's ids.
        func special(_ name: String) -> Int? {
            let entry = tokenizerConfig?["\(name)_token"]
            let content = (entry as? String) ?? ((entry as? [String: Any])?["content"] as? String)
            if let content, let id = tokens.firstIndex(of: content) { return id }
            return config["\(name)_token_id"] as? Int
        }
        for (name, key) in [("bos", "bos_token_id"), ("eos", "eos_token_id"), ("unk", "unknown_token_id"), ("pad", "padding_token_id")] {
            if let id = special(name), id >= 0, id < vocabSize { out.append(("tokenizer.ggml.\(key)", .uint32(UInt32(id)))) }
        }
        if let add = tokenizerConfig?["add_bos_token"] as? Bool { out.append(("tokenizer.ggml.add_bos_token", .bool(add))) }
        if let add = tokenizerConfig?["add_eos_token"] as? Bool { out.append(("tokenizer.ggml.add_eos_token", .bool(add))) }
        // The chat template: tokenizer_config.json's, else chat_template.jinja beside tokenizer.json (newer transformers).
        let jinja = (path as NSString).deletingLastPathComponent + "/chat_template.jinja"
        if let template = tokenizerConfig?["chat_template"] as? String ?? (try? String(contentsOfFile: jinja, encoding: .utf8)) {
            out.append(("tokenizer.chat_template", .string(template)))
        }
        return sentencePiece ? GGUFTokenizerSPM.sentencePieceEntries(out, json: json, tokenizerConfig: tokenizerConfig) : out
    }
}
