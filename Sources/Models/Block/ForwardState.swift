import Kernels

/// Per-forward data shared by every layer: batch geometry, masks, rotary tables, hooks, captures.
public struct ForwardState {
    public let batch: Int
    public let seqLen: Int
    public var rows: Int { batch * seqLen }
    /// `[B·T]` 1 for real tokens, 0 for padding (nil: no padding).
    public let keyPadding: [Float]?
    /// `[B·T]` each row's position (0..<T without a cache; after the cached positions with one).
    public let positions: [Int]
    /// Rotary tables `[B·T, HD/2]` (nil for learned positions).
    public let cos: [Float]?
    public let sin: [Float]?
    public let causal: Bool
    public let activation: Activation
    public let attentionScale: Float
    public let options: ForwardOptions
    /// The KV cache of an incremental forward (`TransformerModel.forward(appending:to:)`): attention
    /// stores the new keys and values there and reads every cached position (eager executor only).
    public let cache: KVCache?
    /// Cached positions and new tokens per sequence (with `cache`).
    public let cacheGeometry: CacheGeometry?
    let config: ModelConfig
    /// What the eager executor recorded at the requested sites.
    public internal(set) var captures: [CaptureKey: Activation3D] = [:]

    /// A forward over `input`. With `cache`, `input` holds each sequence's new tokens, right-padded
    /// (its attention mask a run of 1s, then 0s), placed after the cached positions.
    public init(config: ModelConfig, input: ModelInput, options: ForwardOptions, cache: KVCache? = nil) throws {
        try input.validate(vocabSize: config.vocabSize, typeVocabSize: config.typeVocabSize)
        batch = input.batchSize
        seqLen = input.seqLen
        let t = seqLen
        var totals = [Int](repeating: t, count: batch)      // positions seen after this forward
        if let cache {
            guard cache.batch == batch else {
                throw ModelError.invalidInput(reason: "the KV cache holds \(cache.batch) sequences, the input has \(batch)")
            }
            let count = try (input.attentionMask ?? Array(repeating: Array(repeating: 1, count: t), count: batch)).enumerated().map { b, m in
                let n = m.prefix { $0 != 0 }.count
                guard n > 0, m.dropFirst(n).allSatisfy({ $0 == 0 }) else {
                    throw ModelError.invalidInput(reason: "sequence \(b): a cached forward needs at least one new token, right-padded (mask 1…1 0…0)")
                }
                return n
            }
            totals = zip(cache.lengths, count).map { $0 + $1 }
            cache.reserve(totals.max()!)
            cacheGeometry = CacheGeometry(past: cache.lengths, count: count, newTokens: t, capacity: cache.capacity, window: nil)
            keyPadding = nil
            positions = (0..<(batch * t)).map { r in cache.lengths[r / t] + min(r % t, count[r / t] - 1) }
        } else {
            cacheGeometry = nil
            keyPadding = input.attentionMask.map { $0.joined().map { $0 == 0 ? 0 : 1 } }
            positions = (0..<(batch * t)).map { $0 % t }
        }
        if config.rope == nil, let longest = totals.max(), longest > config.maxPositions {
            throw ModelError.sequenceTooLong(length: longest, limit: config.maxPositions, what: "the learned position table of")
        }
        if let rope = config.rope {
            // Dynamic NTK grows the base with the length seen so far (transformers: max position + 1).
            var c: [Float] = [], s: [Float] = []
            for b in 0..<batch {
                let tables = rotaryTables(positions: Array(positions[(b * t)..<((b + 1) * t)]),
                                          inverseFrequencies: rope.inverseFrequencies(seqLen: totals[b]))
                c += tables.cos; s += tables.sin
            }
            (cos, sin) = (c, s)
        } else {
            cos = nil; sin = nil
        }
        causal = config.isCausal
        activation = config.activation
        attentionScale = config.attentionScale
        self.options = options
        self.cache = cache
        self.config = config
    }

    /// Removes and returns one recorded value (a caller advancing a forward layer by layer keeps
    /// only the current layer's captures).
    public mutating func takeCapture(_ key: CaptureKey) -> Activation3D? { captures.removeValue(forKey: key) }

    /// Attention geometry of layer `layer` with these head counts.
    func geometry(layer: Int, heads: Int, kvHeads: Int, headDim: Int, variant: AttentionVariant) -> AttentionGeometry {
        AttentionGeometry(layer: layer, batch: batch, seqLen: seqLen, heads: heads, kvHeads: kvHeads, headDim: headDim, scale: attentionScale,
                          causal: causal, keyPadding: keyPadding, window: config.slidingWindow(layer: layer), variant: variant)
    }
}

/// Attention geometry and masks of one layer on one batch.
public struct AttentionGeometry {
    public var layer: Int
    public var batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int
    public var scale: Float
    public var causal: Bool
    /// `[B·T]` 1 real / 0 padding (nil: no padding).
    public var keyPadding: [Float]?
    /// Sliding window (keys per query, its own included); nil: unlimited.
    public var window: Int?
    public var variant: AttentionVariant
    public var rows: Int { batch * seqLen }
    /// Shape of scores and probabilities.
    public var scoresShape: [Int] { [batch, heads, seqLen, seqLen] }

    /// Runs `body` with the kernels' mask.
    public func withMask<R>(_ body: (AttentionMask) -> R) -> R {
        guard let keyPadding else { return body(AttentionMask(causal: causal, window: window)) }
        return keyPadding.withUnsafeBufferPointer { body(AttentionMask(causal: causal, keyPadding: $0.baseAddress, window: window)) }
    }
}
