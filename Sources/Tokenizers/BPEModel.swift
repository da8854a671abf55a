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
    /// Id of each single-character token (no prefix/suffix), for the common case.
    private let singleCharIds: [UInt32: Int32]
    /// Words longer than this (in scalars) skip the word cache: whole lines under Metaspace
    /// `split: false` are rarely repeated.
    private let cacheableLength = 64

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
        var singles: [UInt32: Int32] = [:]
        for (key, id) in vocab {
            let scalars = key.string.unicodeScalars
            if scalars.count == 1 { singles[scalars.first!.value] = Int32(id) }
        }
        singleCharIds = singles
    }

    func tokenToId(_ token: String) -> Int? { vocab[token: token] }
    func idToToken(_ id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }

    func tokenize(_ piece: [Unicode.Scalar], cache: WordCache, into ids: inout [Int]) {
        let word = String(scalars: piece)
        if piece.count > cacheableLength { ids.append(contentsOf: encodeWord(word, piece)); return }
        if let hit = cache.get(word) { ids.append(contentsOf: hit); return }
        let result = encodeWord(word, piece)
        cache.set(word, result)
        ids.append(contentsOf: result)
    }

    private func encodeWord(_ word: String, _ piece: [Unicode.Scalar]) -> [Int] {
        if ignoreMerges, let id = vocab[token: word] { return [id] }
        var symbols = initialSymbols(piece)
        if symbols.count <= 64 { mergeByRankArray(&symbols) } else { mergeByHeap(&symbols) }
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
            if plain {
                id = singleCharIds[c.value].map(Int.init)
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

    @inline(__always) private func merge(_ a: Int32, _ b: Int32) -> (rank: Int32, id: Int32)? {
        merges[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))]
    }

    /// Repeatedly merges the lowest-rank adjacent pair (leftmost on ties): the obviously correct
    /// O(n²) form, fastest for short words and the oracle for `mergeByHeap`.
    func mergeByScan(_ symbols: inout [Int32]) {
        while symbols.count > 1 {
            var bestRank = Int32.max, bestAt = -1, bestId: Int32 = 0
            for i in 0..<(symbols.count - 1) {
                if let m = merge(symbols[i], symbols[i + 1]), m.rank < bestRank { bestRank = m.rank; bestAt = i; bestId = m.id }
            }
            if bestAt < 0 { return }
            symbols[bestAt] = bestId
            symbols.remove(at: bestAt + 1)
        }
    }

    /// `mergeByScan` with the rank of every adjacent pair kept in an array, so each merge costs two
    /// table lookups and a scan over integers (short and medium words).
    func mergeByRankArray(_ symbols: inout [Int32]) {
        guard symbols.count > 1 else { return }
        var ranks = [Int32](repeating: .max, count: symbols.count - 1)
        var merged = [Int32](repeating: 0, count: symbols.count - 1)
        for i in 0..<(symbols.count - 1) {
            if let m = merge(symbols[i], symbols[i + 1]) { ranks[i] = m.rank; merged[i] = m.id }
        }
        while !ranks.isEmpty {
            var bestAt = 0
            var bestRank = ranks[0]
            for i in 1..<ranks.count where ranks[i] < bestRank { bestRank = ranks[i]; bestAt = i }
            if bestRank == .max { return }
            symbols[bestAt] = merged[bestAt]
            symbols.remove(at: bestAt + 1)
            ranks.remove(at: bestAt)
            merged.remove(at: bestAt)
            if bestAt > 0 {
                let m = merge(symbols[bestAt - 1], symbols[bestAt])
                ranks[bestAt - 1] = m?.rank ?? .max; merged[bestAt - 1] = m?.id ?? 0
            }
            if bestAt < ranks.count {
                let m = merge(symbols[bestAt], symbols[bestAt + 1])
                ranks[bestAt] = m?.rank ?? .max; merged[bestAt] = m?.id ?? 0
            }
        }
    }
}

/// `<0x0A>`: the SentencePiece byte token of `b`.
func byteTokenName(_ b: UInt8) -> String {
    let hex = Array("0123456789ABCDEF")
    return "<0x" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)]) + ">"
}

extension BPEModel {
    /// The same merges in O(n log n) for long words (tokenizers' `Word::merge_all`): a min-heap of
    /// candidate pairs ordered by (rank, position), symbols linked as a list, stale entries skipped.
    func mergeByHeap(_ symbols: inout [Int32]) {
        let n = symbols.count
        var ids = symbols
        var next = Array(1...n)          // n = end
        var prev = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        var heap = PairHeap()
        for i in 0..<(n - 1) {
            if let m = merge(ids[i], ids[i + 1]) { heap.push(.init(rank: m.rank, pos: Int32(i), right: ids[i + 1], merged: m.id)) }
        }
        while let top = heap.pop() {
            let i = Int(top.pos)
            guard alive[i] else { continue }
            let j = next[i]
            guard j < n, ids[j] == top.right, merge(ids[i], ids[j])?.rank == top.rank else { continue }
            ids[i] = top.merged
            alive[j] = false
            next[i] = next[j]
            if next[j] < n { prev[next[j]] = i }
            if prev[i] >= 0, let m = merge(ids[prev[i]], ids[i]) {
                heap.push(.init(rank: m.rank, pos: Int32(prev[i]), right: ids[i], merged: m.id))
            }
            if next[i] < n, let m = merge(ids[i], ids[next[i]]) {
                heap.push(.init(rank: m.rank, pos: Int32(i), right: ids[next[i]], merged: m.id))
            }
        }
        symbols.removeAll(keepingCapacity: true)
        var k = 0
        while k < n { symbols.append(ids[k]); k = next[k] }
    }
}

/// Binary min-heap of merge candidates ordered by (rank, position).
struct PairHeap {
    struct Entry { var rank: Int32; var pos: Int32; var right: Int32; var merged: Int32 }
    private var items: [Entry] = []

    @inline(__always) private func less(_ a: Entry, _ b: Entry) -> Bool {
        a.rank != b.rank ? a.rank < b.rank : a.pos < b.pos
    }

    mutating func push(_ e: Entry) {
        items.append(e)
        var c = items.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            if !less(items[c], items[p]) { break }
            items.swapAt(c, p); c = p
        }
    }

    mutating func pop() -> Entry? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < items.count && less(items[l], items[m]) { m = l }
                if r < items.count && less(items[r], items[m]) { m = r }
                if m == p { break }
                items.swapAt(p, m); p = m
            }
        }
        return first
    }
}
