import Foundation

/// WordPiece (BERT): greedy longest-match-first over the vocabulary, continuation pieces carrying the
/// `##` prefix; a word longer than `max_input_chars_per_word`, or with any unmatched rest, becomes
/// the unknown token (tokenizers' `models/wordpiece`).
final class WordPieceModel: TokenModel {
    let vocab: Vocabulary
    let tokens: [String?]
    let unkToken: String
    let unkId: Int
    let continuingSubwordPrefix: String
    let maxInputCharsPerWord: Int

    var vocabularySize: Int { tokens.count }

    init(vocab: Vocabulary, tokens: [String?], unkToken: String, prefix: String, maxInputCharsPerWord: Int, path: String) throws {
        self.vocab = vocab
        self.tokens = tokens
        self.unkToken = unkToken
        guard let id = vocab[token: unkToken] else { throw TokenizerError.unknownToken(token: unkToken, path: path + ".unk_token") }
        unkId = id
        continuingSubwordPrefix = prefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    convenience init(_ node: JSONNode) throws {
        let (vocab, tokens) = try readVocabObject(try node.required("vocab"))
        try self.init(vocab: vocab, tokens: tokens, unkToken: try node.string("unk_token", default: "[UNK]"),
                      prefix: try node.string("continuing_subword_prefix", default: "##"),
                      maxInputCharsPerWord: try node.int("max_input_chars_per_word", default: 100), path: node.path)
    }

    /// A BERT `vocab.txt`: one token per line, the id is the line number.
    convenience init(vocabFile path: String) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw TokenizerError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        var vocab: Vocabulary = [:]
        var tokens: [String?] = []
        for line in lines {
            let token = line.hasSuffix("\r") ? String(line.dropLast()) : line
            if vocab[token: token] == nil { vocab[TokenKey(token)] = tokens.count }
            tokens.append(token)
        }
        try self.init(vocab: vocab, tokens: tokens, unkToken: "[UNK]", prefix: "##", maxInputCharsPerWord: 100, path: path)
    }

    func tokenToId(_ token: String) -> Int? { vocab[token: token] }
    func idToToken(_ id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }

    func tokenize(_ piece: [Unicode.Scalar], cache: WordCache, into ids: inout [Int]) {
        let word = String(scalars: piece)
        if let hit = cache.get(word) { ids.append(contentsOf: hit); return }
        let result = encodeWord(word, piece)
        cache.set(word, result)
        ids.append(contentsOf: result)
    }

    private func encodeWord(_ word: String, _ piece: [Unicode.Scalar]) -> [Int] {
        if piece.count > maxInputCharsPerWord { return [unkId] }
        if let id = vocab[token: word] { return [id] }
        var out: [Int] = []
        var start = 0
        while start < piece.count {
            var end = piece.count
            var found: Int?
            while start < end {
                var sub = String(scalars: piece[start..<end])
                if start > 0 { sub = continuingSubwordPrefix + sub }
                if let id = vocab[token: sub] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unkId] }
            out.append(id)
            start = end
        }
        return out
    }
}
