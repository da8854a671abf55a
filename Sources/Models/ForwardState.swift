import Kernels

/// Per-forward data shared by every layer: batch geometry, masks, rotary tables, hooks, captures.
public struct ForwardState {
    public let batch: Int
    public let seqLen: Int
    public var rows: Int { batch * seqLen }
    /// `[B·T]` 1 for real tokens, 0 for padding (nil: no padding).
    public let keyPadding: [Float]?
    /// Rotary tables `[B·T, HD/2]` (nil for learned positions).
    let cos: [Float]?
    let sin: [Float]?
    public let causal: Bool
    public let activation: Activation
    public let attentionScale: Float
    public let options: ForwardOptions
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

    /// Scratch buffers shared by the layers of this forward.
    let workspace = Workspace()

    /// Runs the `intervene` hook and records the capture when requested (`x` is `[rows, width]`).
    mutating func observe(_ point: CapturePoint, layer: Int, _ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        guard options.wants(point, layer: layer) else { return }
        let key = CaptureKey(layer: layer, point: point)
        let buffer = UnsafeMutableBufferPointer(start: x, count: rows * width)
        options.intervene?(key, buffer)
        captures[key] = Activation3D(values: Array(buffer), shape: [batch, seqLen, width])
    }
}
