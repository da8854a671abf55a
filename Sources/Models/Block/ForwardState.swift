import Kernels

/// Per-forward data shared by every layer: batch geometry, masks, rotary tables, hooks, captures.
public struct ForwardState {
    public let batch: Int
    public let seqLen: Int
    public var rows: Int { batch * seqLen }
    /// `[B·T]` 1 for real tokens, 0 for padding (nil: no padding).
    public let keyPadding: [Float]?
    /// Rotary tables `[B·T, HD/2]` (nil for learned positions).
    public let cos: [Float]?
    public let sin: [Float]?
    public let causal: Bool
    public let activation: Activation
    public let attentionScale: Float
    public let options: ForwardOptions
    /// What the eager executor recorded at the requested sites.
    public internal(set) var captures: [CaptureKey: Activation3D] = [:]

    public init(config: ModelConfig, input: ModelInput, options: ForwardOptions) throws {
        try input.validate(vocabSize: config.vocabSize, typeVocabSize: config.typeVocabSize)
        batch = input.batchSize
        seqLen = input.seqLen
        if let window = config.slidingWindow, window < seqLen {
            throw ModelError.unsupportedOption(option: "sliding_window",
                                               reason: "window \(window) is shorter than the input length \(seqLen); sliding-window attention is not implemented (use inputs of at most \(window) tokens)")
        }
        if config.rope == nil, seqLen > config.maxPositions {
            throw ModelError.sequenceTooLong(length: seqLen, limit: config.maxPositions, what: "the learned position table of")
        }
        keyPadding = input.attentionMask.map { $0.joined().map { $0 == 0 ? 0 : 1 } }
        if let rope = config.rope {
            let inv = rope.inverseFrequencies(seqLen: seqLen)
            let t = input.seqLen
            let positions = (0..<(input.batchSize * t)).map { $0 % t }
            (cos, sin) = rotaryTables(positions: positions, inverseFrequencies: inv)
        } else {
            cos = nil; sin = nil
        }
        causal = config.isCausal
        activation = config.activation
        attentionScale = config.attentionScale
        self.options = options
    }

    /// Attention geometry of a layer with these head counts.
    func geometry(heads: Int, kvHeads: Int, headDim: Int, variant: AttentionVariant) -> AttentionGeometry {
        AttentionGeometry(batch: batch, seqLen: seqLen, heads: heads, kvHeads: kvHeads, headDim: headDim, scale: attentionScale,
                          causal: causal, keyPadding: keyPadding, variant: variant)
    }
}

/// Attention geometry and masks of one layer on one batch.
public struct AttentionGeometry {
    public var batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int
    public var scale: Float
    public var causal: Bool
    /// `[B·T]` 1 real / 0 padding (nil: no padding).
    public var keyPadding: [Float]?
    public var variant: AttentionVariant
    public var rows: Int { batch * seqLen }
    /// Shape of scores and probabilities.
    public var scoresShape: [Int] { [batch, heads, seqLen, seqLen] }

    /// Runs `body` with the kernels' mask.
    public func withMask<R>(_ body: (AttentionMask) -> R) -> R {
        guard let keyPadding else { return body(AttentionMask(causal: causal)) }
        return keyPadding.withUnsafeBufferPointer { body(AttentionMask(causal: causal, keyPadding: $0.baseAddress)) }
    }
}
