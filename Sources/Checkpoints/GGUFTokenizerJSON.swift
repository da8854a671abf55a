import Foundation

/// Builds a Hugging Face `tokenizer.json` from a GGUF file's `tokenizer.ggml.*` metadata, so a `.gguf`
/// path tokenizes like a model folder. Supported: `tokenizer.ggml.model` "gpt2" (byte-level BPE)
/// with the pre-tokenizers llama.cpp names `gpt-2`/`gpt2`/`default`, `smollm`, `llama-bpe`/`llama3`
/// and `qwen2` (llama-vocab.cpp's regexes, written as tokenizers' ByteLevel / Digits / Split). Tokens
/// of type control (3) become special added tokens, user-defined (4) plain added tokens; bos is
/// prepended when `tokenizer.ggml.add_bos_token` is true (llama.cpp's rule). SentencePiece
/// vocabularies (`llama`: tokens, scores, types, `<0xNN>` byte tokens) become BPE with byte fallback
/// (`GGUFTokenizerSPM`); unknown tokens (2) are special too, and bos is prepended unless
/// `add_bos_token` is false.
public enum GGUFTokenizerJSON {
    static let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]

    /// The tokenizer.json pre_tokenizer for a llama.cpp pre-tokenizer name (`GGUFPreTokenizer.canonical`),
    /// nil when unknown. "default" on a byte-level vocabulary is read as GPT-2's (a documented
    /// approximation: llama.cpp's default regexes also isolate punctuation runs and 3-digit groups).
    static func preTokenizer(_ name: String) -> [String: Any]? {
        func split(_ regex: String) -> [String: Any] {
            ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": regex], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false]]]
        }
        let named = Dictionary(GGUFPreTokenizer.splitPatterns.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        switch name == "default" ? "gpt-2" : GGUFPreTokenizer.canonical(name) {
        case "gpt-2": return byteLevel
        case "smollm": return ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel]]
        case "llama-bpe": return split(named["llama-bpe"]!)
        case "qwen2": return split(named["qwen2"]!)
        default: return nil
        }
    }

    /// tokenizer.json bytes for `file`; errors name the metadata key.
    public static func document(_ file: GGUFFile) throws -> Data {
        let meta = file.metadata, path = file.path
        func fail(_ key: String, _ reason: String) -> CheckpointError { .ggufInvalidTokenizer(path: path, key: key, reason: reason) }
        guard let model = meta["tokenizer.ggml.model"]?.string else { throw fail("tokenizer.ggml.model", "missing: the file has no tokenizer") }
        guard model == "gpt2" || model == "llama" else {
            throw fail("tokenizer.ggml.model", "'\(model)' is not supported yet (gpt2: byte-level BPE, llama: SentencePiece)")
        }
        let preName = meta["tokenizer.ggml.pre"]?.string ?? "default"
        var pre: [String: Any]? = nil
        if model == "gpt2" {   // SentencePiece files carry "default", which llama.cpp ignores for them
            pre = preTokenizer(preName)
            guard pre != nil else { throw fail("tokenizer.ggml.pre", "'\(preName)' is not a pre-tokenizer we rebuild (gpt-2, smollm, llama-bpe, qwen2 and the names llama.cpp treats like them)") }
        }
        guard let tokenValues = meta["tokenizer.ggml.tokens"]?.array else { throw fail("tokenizer.ggml.tokens", "missing or not an array") }
        var tokens: [String] = []
        for (i, v) in tokenValues.enumerated() {
            guard let s = v.string else { throw fail("tokenizer.ggml.tokens", "entry \(i) is \(v.type), expected a string") }
            tokens.append(s)
        }
        var types = meta["tokenizer.ggml.token_type"]?.array?.map { $0.int ?? 1 } ?? []
        guard types.isEmpty || types.count == tokens.count else {
            throw fail("tokenizer.ggml.token_type", "\(types.count) entries for \(tokens.count) tokens")
        }
        if types.isEmpty { types = [Int](repeating: 1, count: tokens.count) }
        var merges: [String] = []
        for (i, v) in (meta["tokenizer.ggml.merges"]?.array ?? []).enumerated() {
            guard let s = v.string, s.split(separator: " ", omittingEmptySubsequences: false).count == 2 else {
                throw fail("tokenizer.ggml.merges", "entry \(i) is not two tokens separated by one space")
            }
            merges.append(s)
        }
        var vocab: [String: Int] = [:]
        var added: [[String: Any]] = []
        for (id, token) in tokens.enumerated() {
            let type = types[id]
            if type == 5 { continue }   // unused ([PAD<id>] fillers)
            if vocab[token] == nil { vocab[token] = id }
            if type == 2 || type == 3 || type == 4 {   // unknown, control: special; user-defined: plain added token
                added.append(["id": id, "content": token, "single_word": false, "lstrip": false, "rstrip": false,
                              "normalized": type == 4, "special": type != 4])
            }
        }
        func id(_ key: String) throws -> Int? {
            guard let v = meta["tokenizer.ggml.\(key)"] else { return nil }
            guard let i = v.int, i >= 0, i < tokens.count else { throw fail("tokenizer.ggml.\(key)", "expected a token id below \(tokens.count), found \(v.summary)") }
            return i
        }
        let bos = try id("bos_token_id")
        func flag(_ key: String) throws -> Bool? {
            guard let v = meta["tokenizer.ggml.\(key)"] else { return nil }
            guard case let .bool(b) = v else { throw fail("tokenizer.ggml.\(key)", "expected a bool, found \(v.type)") }
            return b
        }
        var document: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added, "normalizer": NSNull(),
            "pre_tokenizer": pre ?? NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab, "merges": merges] as [String: Any],
        ]
        if model == "llama" {
            let scores = try spmScores(meta, count: tokens.count, fail: fail)
            let addSpacePrefix = try flag("add_space_prefix") ?? true
            let unknown = types.firstIndex(of: 2).map { tokens[$0] }
            document.merge(GGUFTokenizerSPM.parts(tokens: tokens, types: types, scores: scores, vocab: vocab,
                                                  addSpacePrefix: addSpacePrefix, unknown: unknown)) { _, new in new }
        }
        // llama.cpp's defaults when the keys are absent: bos for SentencePiece, none for byte-level BPE.
        let addBOS = try flag("add_bos_token") ?? (model == "llama")
        if addBOS, let bos {
            let token = tokens[bos]
            document["post_processor"] = [
                "type": "TemplateProcessing",
                "single": [["SpecialToken": ["id": token, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                "pair": [["SpecialToken": ["id": token, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                         ["SpecialToken": ["id": token, "type_id": 1]], ["Sequence": ["id": "B", "type_id": 1]]],
                "special_tokens": [token: ["id": token, "ids": [bos], "tokens": [token]]],
            ]
        } else {
            document["post_processor"] = NSNull()
        }
        return try jsonText(document, path: path + " (tokenizer.json rebuilt from tokenizer.ggml.*)")
    }

    /// `tokenizer.ggml.scores`: one finite float per token (SentencePiece files need them).
    static func spmScores(_ meta: [String: GGUFValue], count: Int, fail: (String, String) -> CheckpointError) throws -> [Float] {
        let key = "tokenizer.ggml.scores"
        guard let values = meta[key]?.array else { throw fail(key, "missing or not an array (SentencePiece vocabularies need scores)") }
        guard values.count == count else { throw fail(key, "\(values.count) entries for \(count) tokens") }
        return try values.enumerated().map { i, v in
            guard let d = v.double, d.isFinite else { throw fail(key, "entry \(i) is \(v.summary), expected a finite float") }
            return Float(d)
        }
    }
}
