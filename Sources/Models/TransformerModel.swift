import Checkpoints
import Kernels

/// # Models — public API
///
/// ```swift
/// let store = try Checkpoint(path: "…/stories260K")            // any TensorStore
/// let model = try TransformerModel.load(from: store)
/// model.config.family / .numLayers / .numHeads / .numKVHeads / .headDim / .hidden
///             .intermediateSize / .vocabSize / .numLabels / .isCausalLM / .isClassifier
/// let out = try model.forward(ModelInput(tokens: [[1, 2, 3]]), options: ForwardOptions())
/// out.logits, out.shape        // [B,T,V] (causal LM) | [B,numLabels] (classifier) | [B,T,C] (encoder)
/// ```
///
/// Hooks (`ForwardOptions`, DESIGN.md §3): `headMask[layer][head]` multiplies attention
/// probabilities; `neuronMask[layer][neuron]` multiplies the FFN first-linear output before the
/// activation (SwiGLU: the `gate_proj` output); `skip` zeroes sublayers (`SublayerID(layer:kind:)`);
/// `capture` records `CapturePoint`s per layer into `out.captures[CaptureKey]` (`[B,T,width]`);
/// `intervene` may rewrite any captured activation in place (tensor substitution);
/// `attention: .clippedSoftmax(gamma:zeta:)`; `computeHead: false` stops after the last block.
/// Hook order inside a block: attentionInput → attentionContext → attentionOutput → ffnInput →
/// ffnPreActivation → ffnActivation → ffnOutput → blockOutput, so one stateful `intervene` closure
/// can implement gated attention (read `.attentionInput`, scale heads at `.attentionContext`) or
/// activation fake-quant. Weight fake-quant / quantized weights: replace `layer.q` etc.
///
/// Structure: `model.embeddings`, `model.layers[i]` (`TransformerLayer`: `q k v o gate up down` as
/// `any LinearLayer` — a quantized layer can replace the f32 `Linear` — and `norm1`, `norm2`),
/// `model.head`. Per-layer head counts and FFN widths come from the weight shapes, so physically
/// pruned checkpoints run as they are. `LayerStreamingExecutor` runs the same forward one layer at a
/// time from a store (calibration on models larger than RAM in f32).
///
/// A training tape can reuse the same pieces: each block is a sequence of `Kernels` calls
/// (`rmsNormForward`, `matmulForward`, `rotaryForward`, `attentionForward`, `swigluForward`, …)
/// (`xxxForward` with a naive twin as oracle; `xxxBackward` twins go in the same files).
public final class TransformerModel {
    public let config: ModelConfig
    public var embeddings: Embeddings
    public var layers: [TransformerLayer]
    public var head: ModelHead
    /// Sublayers a pruned checkpoint records as removed (`config.json` `whittle.skipped_sublayers`,
    /// written by the pruning passes); every forward skips them in addition to `options.skip`.
    public var skippedSublayers: Set<SublayerID> = []

    public init(config: ModelConfig, embeddings: Embeddings, layers: [TransformerLayer], head: ModelHead) {
        self.config = config; self.embeddings = embeddings; self.layers = layers; self.head = head
    }

    /// Loads every layer as f32 from `store` (its `config` is the parsed `config.json`).
    public static func load(from store: TensorStore) throws -> TransformerModel {
        let config = try ModelConfig.from(json: store.config)
        let weights = try FamilyWeights(config: config, store: store)
        let embeddings = try weights.embeddings()
        let layers = try (0..<config.numLayers).map { try weights.layer($0) }
        let model = TransformerModel(config: config, embeddings: embeddings, layers: layers, head: try weights.head(embeddings: embeddings))
        model.skippedSublayers = try PrunedSublayers.read(from: store.config)
        return model
    }

    /// Loads a checkpoint folder (config.json + safetensors).
    public static func load(path: String) throws -> TransformerModel {
        try load(from: try Checkpoint(path: path))
    }

    /// Runs the model on a batch. See `ForwardOptions` for hooks and `ForwardOutput` for shapes.
    public func forward(_ input: ModelInput, options: ForwardOptions = ForwardOptions()) throws -> ForwardOutput {
        var options = options
        options.skip.formUnion(skippedSublayers)
        var state = try ForwardState(config: config, input: input, options: options)
        var x = embeddings.forward(input)
        for layer in layers { try layer.forward(&x, state: &state) }
        return try head.finish(x, state: state, config: config, computeHead: options.computeHead)
    }

    /// Heads per layer and FFN width per layer (after any pruning).
    public var headCounts: [Int] { layers.map(\.heads) }
    public var ffnWidths: [Int] { layers.map(\.ffnWidth) }
}

extension ModelHead {
    /// Applies the head to the last hidden state `x[B·T, C]`.
    public func finish(_ x: [Float], state: ForwardState, config: ModelConfig, computeHead: Bool) throws -> ForwardOutput {
        let b = state.batch, t = state.seqLen, n = b * t, c = config.hidden
        guard computeHead else {
            return ForwardOutput(logits: x, shape: [b, t, c], captures: state.captures, lastHidden: x)
        }
        switch config.task {
        case .causalLM:
            var h = x
            if let finalNorm { finalNorm.forward(&h, x, rows: n) }
            guard let lmHead else { preconditionFailure("causal LM without lm_head") }
            let logits = lmHead(h, rows: n)
            return ForwardOutput(logits: logits, shape: [b, t, lmHead.outFeatures], captures: state.captures, lastHidden: x)
        case .sequenceClassification:
            guard let pooler, let classifier else { preconditionFailure("classifier without pooler/classifier") }
            var first = [Float](repeating: 0, count: b * c)
            for i in 0..<b { for j in 0..<c { first[i * c + j] = x[i * t * c + j] } }
            var pooled = pooler(first, rows: b)
            pooled.withUnsafeMutableBufferPointer { tanhForward($0.baseAddress!, $0.baseAddress!, count: $0.count) }
            let logits = classifier(pooled, rows: b)
            return ForwardOutput(logits: logits, shape: [b, classifier.outFeatures], captures: state.captures, lastHidden: x)
        case .encoder:
            return ForwardOutput(logits: x, shape: [b, t, c], captures: state.captures, lastHidden: x)
        }
    }
}
