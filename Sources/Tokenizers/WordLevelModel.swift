import Foundation

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
