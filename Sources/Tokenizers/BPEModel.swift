import Foundation

/// Byte-pair encoding (Sennrich et al. 2016) as tokenizers' `models/bpe`: split a word into characters
/// (with `byte_fallback` to `<0xXX>` tokens and an optional fused unknown token), then repeatedly merge
/// the adjacent pair of lowest merge rank, leftmost first.
final class BPEModel: TokenModel {
    let vocab: Vocabulary
    let tokens: [String?]
    /// (left id << 32 | right id) → (rank, merged id).
    private let merges: [UInt64: (rank: Int32, id: Int32)]
    let unkToken: String?
    let unkId: Int?
    let continuingSubwordPrefix: String
    let endOfWordSuffix: String
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    /// Id of each single-character token without prefix/suffix, for the common case.
    private let byteTokenIds: [Int?]

    var vocabularySize: Int { tokens.count }

    init(_ node: JSONNode) throws {
        (vocab, tokens) = try readVocabObject(try node.required("vocab"))
        unkToken = try node.optionalString("unk_token")
        continuingSubwordPrefix = try node.string("continuing_subword_prefix", default: "")
        endOfWordSuffix = try node.string("end_of_word_suffix", default: "")
        fuseUnk = try node.bool("fuse_unk", default: false)
        byteFallback = try node.bool("byte_fallback", default: false)
        ignoreMerges = try node.bool("ignore_merges", default: false)
        if let d = node["dropout"], let p = try? d.double(), p > 0 {
            throw TokenizerError.unsupportedComponent(kind: "BPE option", type: "dropout \(p)", path: d.path,
                                                      supported: ["dropout null or 0 (deterministic encoding)"])
        }
        if let unk = unkToken {
            guard let id = vocab[token: unk] else { throw TokenizerError.unknownToken(token: unk, path: node.path + ".unk_token") }
            unkId = id
        } else { unkId = nil }

        let mergesNode = try node.required("merges")
        var table: [UInt64: (rank: Int32, id: Int32)] = [:]
        let list = try mergesNode.array()
        table.reserveCapacity(list.count)
        let prefixLength = continuingSubwordPrefix.utf8.count
        for (rank, m) in list.enumerated() {
            let a: String, b: String
            if let s = m.stringValue {
                let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw m.fail("expected \"left right\"") }
                a = String(parts[0]); b = String(parts[1])
            } else {
                let pair = try m.array()
                guard pair.count == 2 else { throw m.fail("expected a pair of tokens") }
                a = try pair[0].string(); b = try pair[1].string()
            }
            guard let ia = vocab[token: a] else { throw TokenizerError.unknownToken(token: a, path: m.path) }
            guard let ib = vocab[token: b] else { throw TokenizerError.unknownToken(token: b, path: m.path) }
            let rightPart = prefixLength > 0 && b.hasBytePrefix(continuingSubwordPrefix) ? b.droppingBytePrefix(continuingSubwordPrefix) : b
            guard let merged = vocab[token: a + rightPart] else { throw TokenizerError.unknownToken(token: a + rightPart, path: m.path) }
            let key = UInt64(ia) << 32 | UInt64(ib)
            if table[key] == nil { table[key] = (Int32(rank), Int32(merged)) }
        }
        merges = table
        var singles = [Int?](repeating: nil, count: 0x80)
        for v in 0..<0x80 { singles[v] = vocab[token: String(Unicode.Scalar(UInt8(v)))] }
        byteTokenIds = singles
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
        if ignoreMerges, let id = vocab[token: word] { return [id] }
        var symbols = initialSymbols(piece)
        mergeAll(&symbols)
        return symbols.map(Int.init)
    }

    /// One symbol per character; unknown characters become byte tokens or the (fused) unknown token.
    private func initialSymbols(_ piece: [Unicode.Scalar]) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(piece.count)
        let plain = continuingSubwordPrefix.isEmpty && endOfWordSuffix.isEmpty
        var pendingUnk = false
        for (i, c) in piece.enumerated() {
            var id: Int?
            var text = ""
            if plain && c.value < 0x80 {
                id = byteTokenIds[Int(c.value)]
                if id == nil { text = String(c) }
            } else {
                text = String(c)
                if i > 0 { text = continuingSubwordPrefix + text }
                if i == piece.count - 1 { text += endOfWordSuffix }
                id = vocab[token: text]
            }
            if let id {
                if pendingUnk, let unkId { symbols.append(Int32(unkId)); pendingUnk = false }
                symbols.append(Int32(id))
                continue
            }
            if byteFallback {
                let byteIds = text.utf8.map { vocab[token: byteTokenName($0)] }
                if byteIds.allSatisfy({ $0 != nil }) {
                    symbols.append(contentsOf: byteIds.map { Int32($0!) })
                    continue
                }
            }
            if let unkId {
                if pendingUnk && !fuseUnk { symbols.append(Int32(unkId)) }
                pendingUnk = true
            }
        }
        if pendingUnk, let unkId { symbols.append(Int32(unkId)) }
        return symbols
    }

    /// Repeatedly merges the lowest-rank adjacent pair (leftmost on ties).
    private func mergeAll(_ symbols: inout [Int32]) {
        while symbols.count > 1 {
            var bestRank = Int32.max, bestAt = -1, bestId: Int32 = 0
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(symbols[i])) << 32 | UInt64(UInt32(symbols[i + 1]))
                if let m = merges[key], m.rank < bestRank { bestRank = m.rank; bestAt = i; bestId = m.id }
            }
            if bestAt < 0 { return }
            symbols[bestAt] = bestId
            symbols.remove(at: bestAt + 1)
        }
    }
}

/// `<0x0A>`: the SentencePiece byte token of `b`.
func byteTokenName(_ b: UInt8) -> String {
    let hex = Array("0123456789ABCDEF")
    return "<0x" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)]) + ">"
}
