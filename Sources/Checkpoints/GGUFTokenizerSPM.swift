import Foundation

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
