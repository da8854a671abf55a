import Kernels
import Tensors

/// Input embeddings: token table `[V, C]`, optional learned positions `[P, C]` and token types
/// `[TV, C]`, optional LayerNorm (BERT).
public struct Embeddings {
    public var tokens: [Float]
    public var positions: [Float]?
    public var tokenTypes: [Float]?
    public var norm: Norm?
    public let vocabSize: Int
    public let hidden: Int
    /// The stored token table, gathered row by row when `tokens` is empty (layer streaming keeps
    /// only the rows it needs in f32 instead of the whole `[V, C]` table).
    var storedTokens: Tensor?

    public init(tokens: [Float], positions: [Float]?, tokenTypes: [Float]?, norm: Norm?, vocabSize: Int, hidden: Int) {
        precondition(tokens.isEmpty || tokens.count == vocabSize * hidden, "Embeddings: token table is not [\(vocabSize), \(hidden)]")
        self.tokens = tokens; self.positions = positions; self.tokenTypes = tokenTypes; self.norm = norm
        self.vocabSize = vocabSize; self.hidden = hidden
    }

    /// `out[B·T, C]` for the batch (positions 0..<T in every sequence).
    public func forward(_ input: ModelInput) -> [Float] {
        let b = input.batchSize, t = input.seqLen, c = hidden, n = b * t
        var out = [Float](repeating: 0, count: n * c)
        let ids = input.tokens.joined().map { Int32($0) }
        out.withUnsafeMutableBufferPointer { o in
            if tokens.isEmpty, let stored = storedTokens {
                let rowBytes = c * stored.dtype.byteSize
                for (r, id) in ids.enumerated() {
                    let start = Int(id) * rowBytes
                    DTypeConversion.load(UnsafeRawBufferPointer(rebasing: stored.bytes[start..<(start + rowBytes)]), as: stored.dtype,
                                         into: UnsafeMutableBufferPointer(start: o.baseAddress! + r * c, count: c))
                }
            } else {
                embeddingForward(o.baseAddress!, ids: ids, table: tokens, rows: n, channels: c)
            }
            if let positions {
                let pos = (0..<n).map { Int32($0 % t) }
                embeddingAddForward(o.baseAddress!, ids: pos, table: positions, rows: n, channels: c)
            }
            if let tokenTypes {
                let types = input.tokenTypes.map { $0.joined().map { Int32($0) } } ?? [Int32](repeating: 0, count: n)
                embeddingAddForward(o.baseAddress!, ids: types, table: tokenTypes, rows: n, channels: c)
            }
        }
        if let norm { out.withUnsafeMutableBufferPointer { o in norm.forward(o.baseAddress!, o.baseAddress!, rows: n) } }
        return out
    }
}

/// What follows the last block: final norm + LM head, or BERT pooler + classifier.
public struct ModelHead {
    /// Final norm of pre-norm families (`model.norm`, `ln_f`).
    public var finalNorm: Norm?
    /// `lm_head` `[V, C]` (the token table when tied).
    public var lmHead: (any LinearLayer)?
    /// BERT pooler dense `[C, C]` (tanh) applied to the first token.
    public var pooler: (any LinearLayer)?
    /// Sequence classifier `[numLabels, C]`.
    public var classifier: (any LinearLayer)?

    public init(finalNorm: Norm? = nil, lmHead: (any LinearLayer)? = nil, pooler: (any LinearLayer)? = nil,
                classifier: (any LinearLayer)? = nil) {
        self.finalNorm = finalNorm; self.lmHead = lmHead; self.pooler = pooler; self.classifier = classifier
    }
}
