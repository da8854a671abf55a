import Kernels
import Tensors

/// Input embeddings: token table `[V, C]`, optional learned positions `[P, C]` and token types
/// `[TV, C]`, optional LayerNorm (BERT). Tables live in `Variable`s (trainable).
public struct Embeddings {
    public let tokenParameter: Variable
    public let positionParameter: Variable?
    public let tokenTypeParameter: Variable?
    public var norm: Norm?
    public let vocabSize: Int
    public let hidden: Int
    /// The stored token table, gathered row by row when `tokens` is empty (layer streaming keeps
    /// only the rows it needs in f32 instead of the whole `[V, C]` table).
    var storedTokens: Tensor?

    /// Names are the checkpoint's tensor names (`.weight` included).
    public init(tokens: [Float], positions: [Float]?, tokenTypes: [Float]?, norm: Norm?, vocabSize: Int, hidden: Int,
                names: (tokens: String, positions: String, tokenTypes: String) = ("", "", "")) {
        precondition(tokens.isEmpty || tokens.count == vocabSize * hidden, "Embeddings: token table is not [\(vocabSize), \(hidden)]")
        tokenParameter = .parameter(tokens, shape: [tokens.isEmpty ? 0 : vocabSize, hidden], name: names.tokens)
        positionParameter = positions.map { .parameter($0, shape: [$0.count / hidden, hidden], name: names.positions) }
        tokenTypeParameter = tokenTypes.map { .parameter($0, shape: [$0.count / hidden, hidden], name: names.tokenTypes) }
        self.norm = norm; self.vocabSize = vocabSize; self.hidden = hidden
    }

    public var tokens: [Float] { tokenParameter.value }
    public var positions: [Float]? { positionParameter?.value }
    public var tokenTypes: [Float]? { tokenTypeParameter?.value }

    /// `out[B·T, C]` for the batch (positions 0..<T in every sequence).
    public func forward(_ input: ModelInput, state: ForwardState) -> [Float] {
        run(input, on: EagerExecutor(state: state))
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
