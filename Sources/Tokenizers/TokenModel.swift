import Foundation

/// The model turns one pre-tokenized piece into ids (tokenizers' `models`: BPE, WordPiece, Unigram).
protocol TokenModel: AnyObject {
    var vocabularySize: Int { get }
    func tokenToId(_ token: String) -> Int?
    func idToToken(_ id: Int) -> String?
    /// Appends the ids of `piece`; `cache` memoizes whole words (one cache per thread).
    func tokenize(_ piece: [Unicode.Scalar], cache: WordCache, into ids: inout [Int])
}

/// Word → ids memo, bounded (cleared when full). Not thread-safe: one per thread.
final class WordCache {
    private var map: [TokenKey: [Int]] = [:]
    let capacity: Int
    init(capacity: Int = 200_000) { self.capacity = capacity }

    @inline(__always) func get(_ word: String) -> [Int]? { map[TokenKey(word)] }
    @inline(__always) func set(_ word: String, _ ids: [Int]) {
        if map.count >= capacity { map.removeAll(keepingCapacity: true) }
        map[TokenKey(word)] = ids
    }
}

/// Reads `model.vocab` as an object token → id, checking ids are unique and in range.
func readVocabObject(_ node: JSONNode) throws -> (vocab: Vocabulary, tokens: [String?]) {
    var vocab: Vocabulary = [:]
    let entries = try node.object()
    vocab.reserveCapacity(entries.count)
    var maxId = -1
    for (key, idNode) in entries {
        let id = try idNode.int()
        guard id >= 0 else { throw idNode.fail("negative id \(id)") }
        vocab[TokenKey(key)] = id
        maxId = max(maxId, id)
    }
    var tokens = [String?](repeating: nil, count: maxId + 1)
    for (t, id) in vocab { tokens[id] = t.string }
    return (vocab, tokens)
}

enum ModelFactory {
    static let supported = ["BPE", "WordPiece", "WordLevel", "Unigram"]

    static func make(_ node: JSONNode) throws -> TokenModel {
        // Old files may omit `type`; infer from the fields as tokenizers does.
        let type: String
        if let t = node["type"] { type = try t.string() }
        else if node["merges"] != nil { type = "BPE" }
        else if node["continuing_subword_prefix"] != nil || node["max_input_chars_per_word"] != nil { type = "WordPiece" }
        else { type = "Unigram" }
        switch type {
        case "BPE": return try BPEModel(node)
        case "WordPiece": return try WordPieceModel(node)
        case "Unigram": return try UnigramModel(node)
        case "WordLevel": return try WordLevelModel(node)
        default:
            throw TokenizerError.unsupportedComponent(kind: "model", type: type, path: node.path, supported: supported)
        }
    }
}

/// One id per pre-tokenized word, or the unknown token.
final class WordLevelModel: TokenModel {
    let vocab: Vocabulary
    let tokens: [String?]
    let unkId: Int?
    var vocabularySize: Int { tokens.count }

    init(_ node: JSONNode) throws {
        (vocab, tokens) = try readVocabObject(try node.required("vocab"))
        if let unk = try node.optionalString("unk_token") {
            guard let id = vocab[token: unk] else { throw TokenizerError.unknownToken(token: unk, path: node.path + ".unk_token") }
            unkId = id
        } else { unkId = nil }
    }

    func tokenToId(_ token: String) -> Int? { vocab[token: token] }
    func idToToken(_ id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }
    func tokenize(_ piece: [Unicode.Scalar], cache: WordCache, into ids: inout [Int]) {
        if let id = vocab[token: String(scalars: piece)] ?? unkId { ids.append(id) }
    }
}
