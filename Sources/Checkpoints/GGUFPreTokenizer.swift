import StrictJSON

/// `tokenizer.ggml.pre`: the name llama.cpp gives a byte-level BPE pre-tokenizer, which selects its
/// split regexes and detokenizer flags (llama-vocab.cpp, `llama_vocab::impl::load`).
///
/// llama.cpp's converter decides the name by hashing the ids its tokenizer gives for a fixed text and
/// looking the hash up in a table of known models (convert_hf_to_gguf.py `get_vocab_base_pre`);
/// unknown hashes are refused. We decide without running a tokenizer:
/// 1. a known vocabulary (FNV-1a of the token list, `knownVocabularies`) gets the converter's name for
///    it — this catches SmolLM, whose tokenizer.json rebuilt by transformers' GGUF loader has lost its
///    Digits step and looks like GPT-2's;
/// 2. otherwise the tokenizer.json pre-tokenizer decides (`described`): a lone ByteLevel is `gpt-2`,
///    Digits (one by one) + ByteLevel `smollm`, a Split with Llama 3's or Qwen2's regex + a regex-free
///    ByteLevel `llama-bpe` / `qwen2` — the names the converter writes for GPT-2, SmolLM, Llama 3 and
///    Qwen2, whose regexes llama.cpp keeps under those names;
/// 3. anything else is refused with the pre-tokenizer it found.
enum GGUFPreTokenizer {
    /// Llama 3's and Qwen2's Split regexes (tokenizer.json spelling).
    static let splitPatterns: [String: String] = [
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": "llama-bpe",
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": "qwen2",
    ]

    /// Vocabularies whose converter name their description does not give, by `fingerprint` of the
    /// token list as written. SmolLM / SmolLM2 (49,152 tokens; the converter's hash 8550594…
    /// "HuggingFaceTB/SmolLM-135M"): value printed by tools/reference/gguf_pre_reference.py.
    static let knownVocabularies: [UInt64: String] = [
        0x3ff3_b2ef_50df_d8ca: "smollm",
    ]

    /// FNV-1a (64-bit) of the tokens in id order, each followed by a zero byte.
    static func fingerprint(_ tokens: [String]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for token in tokens {
            for b in token.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            h = h &* 0x0000_0100_0000_01b3   // the separator (0) xor-ed in is a no-op
        }
        return h
    }

    /// The name to write for a byte-level BPE with `tokens` (as written) and tokenizer.json `pre_tokenizer`; nil if unknown.
    static func name(tokens: [String], preTokenizer: JSON) -> String? {
        knownVocabularies[fingerprint(tokens)] ?? described(preTokenizer)
    }

    /// llama.cpp's name for a pre-tokenizer description, nil when none fits.
    static func described(_ pre: JSON) -> String? {
        func isByteLevel(_ j: JSON, regex: Bool) -> Bool {
            j["type"] == .string("ByteLevel") && (j["use_regex"] ?? .bool(true)) == .bool(regex)
        }
        if isByteLevel(pre, regex: true) { return "gpt-2" }
        guard pre["type"] == .string("Sequence"), case let .array(steps)? = pre["pretokenizers"] else { return nil }
        if steps.count == 1, isByteLevel(steps[0], regex: true) { return "gpt-2" }
        guard steps.count == 2 else { return nil }
        if steps[0]["type"] == .string("Digits"), steps[0]["individual_digits"] == .bool(true), isByteLevel(steps[1], regex: true) {
            return "smollm"
        }
        guard steps[0]["type"] == .string("Split"), isByteLevel(steps[1], regex: false),
              case let .string(regex)? = steps[0]["pattern"]?["Regex"] else { return nil }
        return splitPatterns[regex]
    }

    /// Reading: the canonical name for a `tokenizer.ggml.pre` llama.cpp treats like one we rebuild
    /// (same regexes in llama-vocab.cpp), nil for names we do not rebuild.
    static func canonical(_ name: String) -> String? {
        switch name {
        case "gpt-2", "gpt2", "phi-2": return "gpt-2"
        case "smollm", "starcoder", "refact", "codeshell": return "smollm"
        case "llama-bpe", "llama3", "llama-v3", "dbrx", "smaug-bpe": return "llama-bpe"
        case "qwen2", "deepseek-r1-qwen": return "qwen2"
        default: return nil
        }
    }
}
