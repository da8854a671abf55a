import Foundation

/// Unigram language model (Kudo 2018), SentencePiece style: the segmentation with the highest total
/// log-probability (Viterbi), unknown characters scored `min_score - 10` and fused.
final class UnigramModel: TokenModel {
    let tokens: [String?]
    let scores: [Double]
    let vocab: Vocabulary
    let unkId: Int?
    let byteFallback: Bool
    private let maxPieceLength: Int
    private let unkScore: Double

    var vocabularySize: Int { tokens.count }

    init(_ node: JSONNode) throws {
        let list = try node.required("vocab").array()
        var tokens: [String?] = [], scores: [Double] = [], vocab: Vocabulary = [:]
        var maxLen = 1
        for entry in list {
            let pair = try entry.array()
            guard pair.count == 2 else { throw entry.fail("expected [token, score]") }
            let t = try pair[0].string()
            if vocab[token: t] == nil { vocab[TokenKey(t)] = tokens.count }
            tokens.append(t)
            scores.append(try pair[1].double())
            maxLen = max(maxLen, t.unicodeScalars.count)
        }
        self.tokens = tokens; self.scores = scores; self.vocab = vocab
        maxPieceLength = maxLen
        if let u = node["unk_id"] {
            let id = try u.int()
            guard id >= 0 && id < tokens.count else { throw u.fail("unk_id \(id) outside the vocabulary") }
            unkId = id
        } else { unkId = nil }
        byteFallback = try node.bool("byte_fallback", default: false)
        unkScore = (scores.min() ?? 0) - 10
    }

    func tokenToId(_ token: String) -> Int? { vocab[token: token] }
    func idToToken(_ id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }

    func tokenize(_ piece: [Unicode.Scalar], cache: WordCache, into ids: inout [Int]) {
        let word = String(scalars: piece)
        if let hit = cache.get(word) { ids.append(contentsOf: hit); return }
        let result = viterbi(piece)
        cache.set(word, result)
        ids.append(contentsOf: result)
    }

    /// Best segmentation; ties keep the first-found best path as the lattice in tokenizers does.
    private func viterbi(_ piece: [Unicode.Scalar]) -> [Int] {
        let n = piece.count
        var best = [Double](repeating: -.infinity, count: n + 1)
        var backStart = [Int](repeating: -1, count: n + 1)
        var backId = [Int](repeating: -1, count: n + 1)
        best[0] = 0
        for start in 0..<n where best[start] > -.infinity {
            var hasSingle = false
            let limit = min(n, start + maxPieceLength)
            for end in (start + 1)...limit {
                guard let id = vocab[token: String(scalars: piece[start..<end])] else { continue }
                if end == start + 1 { hasSingle = true }
                let s = best[start] + scores[id]
                if s > best[end] { best[end] = s; backStart[end] = start; backId[end] = id }
            }
            if !hasSingle, let unkId {
                let s = best[start] + unkScore
                if s > best[start + 1] { best[start + 1] = s; backStart[start + 1] = start; backId[start + 1] = unkId }
            }
        }
        var path: [(id: Int, range: Range<Int>)] = []
        var pos = n
        while pos > 0 {
            guard backStart[pos] >= 0 else { return unkId.map { [$0] } ?? [] }
            path.append((backId[pos], backStart[pos]..<pos)); pos = backStart[pos]
        }
        path.reverse()
        // Fuse consecutive unknowns; with byte_fallback an unknown span becomes its <0xXX> byte tokens.
        var fused: [(id: Int, range: Range<Int>)] = []
        for step in path {
            if step.id == unkId, let last = fused.last, last.id == unkId {
                fused[fused.count - 1].range = last.range.lowerBound..<step.range.upperBound
            } else { fused.append(step) }
        }
        var out: [Int] = []
        for step in fused {
            if byteFallback && step.id == unkId {
                let bytes = Array(String(scalars: piece[step.range]).utf8)
                let ids = bytes.compactMap { vocab[token: byteTokenName($0)] }
                if ids.count == bytes.count { out += ids; continue }
            }
            out.append(step.id)
        }
        return out
    }
}
