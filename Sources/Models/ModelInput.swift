/// A batch of B token sequences of equal length T, with optional token types and a padding mask.
public struct ModelInput: Sendable {
    /// `[B][T]` token ids.
    public var tokens: [[Int]]
    /// `[B][T]` segment ids (BERT); nil means all zeros.
    public var tokenTypes: [[Int]]?
    /// `[B][T]`: 1 for real tokens, 0 for padding. nil means every token is real.
    public var attentionMask: [[Int]]?

    public init(tokens: [[Int]], tokenTypes: [[Int]]? = nil, attentionMask: [[Int]]? = nil) {
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.attentionMask = attentionMask
    }

    /// Right-pads ragged sequences with `padId` and builds the matching attention mask.
    public init(padding sequences: [[Int]], padId: Int = 0, tokenTypes: [[Int]]? = nil) {
        let t = sequences.map(\.count).max() ?? 0
        tokens = sequences.map { $0 + Array(repeating: padId, count: t - $0.count) }
        attentionMask = sequences.map { Array(repeating: 1, count: $0.count) + Array(repeating: 0, count: t - $0.count) }
        self.tokenTypes = tokenTypes.map { $0.map { $0 + Array(repeating: 0, count: t - $0.count) } }
    }

    public var batchSize: Int { tokens.count }
    public var seqLen: Int { tokens.first?.count ?? 0 }

    /// Checks rectangular shapes and id ranges.
    func validate(vocabSize: Int, typeVocabSize: Int) throws {
        guard batchSize > 0, seqLen > 0 else { throw ModelError.invalidInput(reason: "empty batch or empty sequence") }
        for (b, row) in tokens.enumerated() {
            guard row.count == seqLen else { throw ModelError.invalidInput(reason: "sequence \(b) has \(row.count) tokens, expected \(seqLen) (pad the batch)") }
            if let bad = row.first(where: { $0 < 0 || $0 >= vocabSize }) {
                throw ModelError.invalidInput(reason: "token id \(bad) in sequence \(b) is outside the vocabulary 0..<\(vocabSize)")
            }
        }
        if let tokenTypes {
            guard tokenTypes.count == batchSize, tokenTypes.allSatisfy({ $0.count == seqLen }) else {
                throw ModelError.invalidInput(reason: "tokenTypes must be [\(batchSize)][\(seqLen)] like tokens")
            }
            if let bad = tokenTypes.joined().first(where: { $0 < 0 || $0 >= max(typeVocabSize, 1) }) {
                throw ModelError.invalidInput(reason: "token type \(bad) is outside 0..<\(typeVocabSize)")
            }
        }
        if let attentionMask {
            guard attentionMask.count == batchSize, attentionMask.allSatisfy({ $0.count == seqLen }) else {
                throw ModelError.invalidInput(reason: "attentionMask must be [\(batchSize)][\(seqLen)] like tokens")
            }
        }
    }
}
