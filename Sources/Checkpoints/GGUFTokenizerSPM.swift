import Foundation
import StrictJSON

/// SentencePiece vocabularies (`tokenizer.ggml.model` "llama") as a Hugging Face `tokenizer.json`.
///
/// llama.cpp tokenizes them with `llm_tokenizer_spm` (llama-vocab.cpp): spaces become "▁", a "▁" is
/// prepended to the first text and to the text after each special token (`add_space_prefix`), then
/// adjacent symbols (UTF-8 characters at first) are merged greedily, the pair whose concatenation is
/// the token with the highest score first; symbols left that are not tokens become their `<0xNN>` byte
/// tokens. That is BPE whose merge ranks are the scores: every split `l + r` of a token whose halves
/// are tokens is a merge, ranked by the token's score (highest first) — what transformers'
/// `SentencePieceExtractor` builds for Llama's tokenizer.json — with byte_fallback, the legacy
/// normalizer (Prepend "▁" per text segment, Replace " " → "▁"), and the decoder undoing both.
enum GGUFTokenizerSPM {
    /// The BPE merges of a SentencePiece vocabulary: for each normal token (type 1) every split into
    /// two tokens of `vocab`, ordered by the token's score (highest first), ties by token id, then by
    /// the left part's length.
    static func merges(tokens: [String], types: [Int], scores: [Float], vocab: [String: Int]) -> [String] {
        var found: [(score: Float, id: Int, split: Int, merge: String)] = []
        for (id, token) in tokens.enumerated() where types[id] == 1 {
            let scalars = Array(token.unicodeScalars)
            guard scalars.count > 1 else { continue }
            for k in 1..<scalars.count {
                var left = String.UnicodeScalarView(), right = String.UnicodeScalarView()
                left.append(contentsOf: scalars[..<k]); right.append(contentsOf: scalars[k...])
                let l = String(left), r = String(right)
                if vocab[l] != nil, vocab[r] != nil { found.append((scores[id], id, k, l + " " + r)) }
            }
        }
        found.sort { a, b in a.score != b.score ? a.score > b.score : a.id != b.id ? a.id < b.id : a.split < b.split }
        return found.map(\.merge)
    }

    /// The tokenizer.json pieces that differ from byte-level BPE: normalizer, pre-tokenizer (none),
    /// decoder and the `model` object. `unknown` is the unknown token's text (type 2), if any.
    static func parts(tokens: [String], types: [Int], scores: [Float], vocab: [String: Int], addSpacePrefix: Bool,
                      unknown: String?) -> [String: Any] {
        let space: [String: Any] = ["type": "Replace", "pattern": ["String": " "], "content": "\u{2581}"]
        let unspace: [String: Any] = ["type": "Replace", "pattern": ["String": "\u{2581}"], "content": " "]
        let normalizers: [[String: Any]] = (addSpacePrefix ? [["type": "Prepend", "prepend": "\u{2581}"]] : []) + [space]
        let decoders: [[String: Any]] = [unspace, ["type": "ByteFallback"], ["type": "Fuse"]]
            + (addSpacePrefix ? [["type": "Strip", "content": " ", "start": 1, "stop": 0]] : [])
        return [
            "normalizer": ["type": "Sequence", "normalizers": normalizers],
            "pre_tokenizer": NSNull(),
            "decoder": ["type": "Sequence", "decoders": decoders],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": unknown.map { $0 as Any } ?? NSNull(),
                      "continuing_subword_prefix": NSNull(), "end_of_word_suffix": NSNull(), "fuse_unk": true,
                      "byte_fallback": true, "ignore_merges": false, "vocab": vocab,
                      "merges": merges(tokens: tokens, types: types, scores: scores, vocab: vocab)] as [String: Any],
        ]
    }
}

/// Writing: a Llama-2-style tokenizer.json (BPE with byte_fallback, Metaspace or Prepend/Replace
/// spaces) as the SentencePiece metadata convert_hf_to_gguf.py writes (`_set_vocab_sentencepiece`):
/// model "llama", pre "default", tokens, scores, types (byte for `<0xNN>`, unknown for the unk
/// token, control for special added tokens). Without the tokenizer.model the converter reads scores
/// from, each token's score is minus the rank of the first merge that makes it (so llama.cpp's
/// highest-score-first merging follows the merge list); tokens no merge makes get a lower score.
extension GGUFTokenizerSPM {
    /// Whether `json` is SentencePiece-style (the test llama.cpp's `LlamaHfVocab` applies).
    static func isSentencePiece(_ json: JSON) -> Bool {
        json["model"]?["type"] == .string("BPE") && json["model"]?["byte_fallback"] == .bool(true)
            && json["decoder"]?["type"] == .string("Sequence")
    }

    /// Whether the tokenizer puts "▁" before the text (Metaspace other than "never", or a Prepend normalizer).
    static func addsSpacePrefix(_ json: JSON) -> Bool {
        func has(_ node: JSON?, _ type: String, key: String) -> [JSON] {
            guard let node else { return [] }
            if node["type"] == .string(type) { return [node] }
            if case let .array(steps)? = node[key] { return steps.filter { $0["type"] == .string(type) } }
            return []
        }
        let metaspace = has(json["pre_tokenizer"], "Metaspace", key: "pretokenizers")
        if let m = metaspace.first { return m["prepend_scheme"] != .string("never") && m["add_prefix_space"] != .bool(false) }
        return !has(json["normalizer"], "Prepend", key: "normalizers").isEmpty
    }

    /// Turns the byte-level entries `GGUFTokenizerMetadata.entries` built into SentencePiece ones.
    static func sentencePieceEntries(_ entries: [(key: String, value: GGUFValue)], json: JSON,
                                     tokenizerConfig: [String: Any]?) -> [(key: String, value: GGUFValue)] {
        let byKey = Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let tokens = (byKey["tokenizer.ggml.tokens"]?.array ?? []).map { $0.string ?? "" }
        var types = (byKey["tokenizer.ggml.token_type"]?.array ?? []).map { $0.int ?? 1 }
        let merges = (byKey["tokenizer.ggml.merges"]?.array ?? []).map { $0.string ?? "" }
        let idOf = Dictionary(tokens.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var scores = [Float](repeating: 0, count: tokens.count)
        var ranked = [Bool](repeating: false, count: tokens.count)
        for (rank, merge) in merges.enumerated() {
            if let id = idOf[merge.replacingOccurrences(of: " ", with: "")], !ranked[id] { scores[id] = -Float(rank); ranked[id] = true }
        }
        // The unknown token: the model's unk_token, else tokenizer_config.json's (transformers 5 leaves the first null).
        var unknown = tokenName(tokenizerConfig?["unk_token"])
        if case let .string(u)? = json["model"]?["unk_token"] { unknown = u }
        for (id, token) in tokens.enumerated() {
            if isByteToken(token) { types[id] = Int(GGUFTokenizerMetadata.TokenType.byte.rawValue) }
            else if token == unknown { types[id] = Int(GGUFTokenizerMetadata.TokenType.unknown.rawValue) }
            switch types[id] {
            case 1 where !ranked[id]: scores[id] = -Float(merges.count + 1)
            case 4: scores[id] = -1000
            case 5: scores[id] = -10000
            default: break
            }
        }
        var out: [(key: String, value: GGUFValue)] = [
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.pre", .string("default")),
            ("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) })),
            ("tokenizer.ggml.scores", .array(.float32, scores.map { .float32($0) })),
            ("tokenizer.ggml.token_type", .array(.int32, types.map { .int32(Int32($0)) })),
        ]
        out += postProcessorFlags(json, bos: tokenName(tokenizerConfig?["bos_token"]), eos: tokenName(tokenizerConfig?["eos_token"]),
                                  sep: tokenName(tokenizerConfig?["sep_token"]))
            .filter { flag in !entries.contains { $0.key == flag.key } }
        let replaced: Set = ["tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"]
        out += entries.filter { !replaced.contains($0.key) }
        if let add = tokenizerConfig?["add_prefix_space"] as? Bool {
            out.append(("tokenizer.ggml.add_space_prefix", .bool(add)))
        } else if !addsSpacePrefix(json) {
            out.append(("tokenizer.ggml.add_space_prefix", .bool(false)))
        }
        return out
    }

    /// A token given as a string or as `{"content": ...}` (tokenizer_config.json).
    static func tokenName(_ entry: Any?) -> String? { (entry as? String) ?? ((entry as? [String: Any])?["content"] as? String) }

    /// add_bos / add_eos / add_sep as gguf-py's `SpecialVocab` reads them from a TemplateProcessing
    /// post-processor when tokenizer_config.json does not say: bos when the single template starts
    /// with the bos token, eos when it ends with the eos token, sep (written whenever the pair
    /// template has something between A and B) when that is the sep or eos token.
    static func postProcessorFlags(_ json: JSON, bos: String?, eos: String?, sep: String?) -> [(key: String, value: GGUFValue)] {
        guard let processor = json["post_processor"], processor["type"] == .string("TemplateProcessing"),
              case let .array(single)? = processor["single"], single.count > 1 else { return [] }
        func special(_ item: JSON?) -> String? { if case let .string(id)? = item?["SpecialToken"]?["id"] { return id } else { return nil } }
        func sequence(_ item: JSON?) -> String? { if case let .string(id)? = item?["Sequence"]?["id"] { return id } else { return nil } }
        var out: [(key: String, value: GGUFValue)] = []
        let first = special(single.first), last = special(single.last)
        if let first { out.append(("tokenizer.ggml.add_bos_token", .bool(first == bos))) }
        if let last { out.append(("tokenizer.ggml.add_eos_token", .bool(last == eos))) }
        if case var .array(pair)? = processor["pair"] {
            if first != nil, special(pair.first) == first { pair.removeFirst() }
            if last != nil, special(pair.last) == last { pair.removeLast() }
            if pair.count > 2, sequence(pair.first) == "A", sequence(pair.last) == "B" {
                let middle = Array(pair.dropFirst().dropLast()), separators = Set([sep, eos].compactMap { $0 })
                var addSep = false   // "A [sep] [eos] B"
                if let m = special(middle.first), separators.contains(m), last == nil { addSep = true }
                if middle.count == 2, let m = special(middle[1]), separators.contains(m) { addSep = true }
                out.append(("tokenizer.ggml.add_sep_token", .bool(addSep)))
            }
        }
        return out
    }

    /// `<0xNN>` with two hex digits (llama.cpp's and the converter's byte-token test).
    static func isByteToken(_ token: String) -> Bool {
        let u = Array(token.utf8)
        return u.count == 6 && u[0] == 60 && u[1] == 48 && u[2] == 120 && u[5] == 62 && u[3...4].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 32 >= 97 && $0 | 32 <= 102) }
    }
}
