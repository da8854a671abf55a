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
/// let cache = KVCache(model: model, batch: 2)                   // decoding: keys/values per sequence
/// let last = try model.forward(appending: [[1, 2, 3], [4]], to: cache)   // [B, V] last-token logits
/// ```
///
/// The block is written once (`Block/TransformerBlock.swift`) and run by an executor: `EagerExecutor`
/// here, the training tape's in `Training`. Hooks (`ForwardOptions`) act at typed sites
/// (`CapturePoint`: embeddings, attention input, q, k, v, scores, probabilities, context, …) and
/// state their gradient: masks and trainable gates, `SiteHook` replace (gradient stopped) or transform
/// (exact or straight-through), weight transforms by role. What the checkpoint's `whittle` section
/// says (removed sublayers, masked heads and neurons, attention normaliser) is applied when the
/// model loads (`TransformerLayer.structure`), so every runner honours it.
///
/// Structure: `model.embeddings`, `model.layers[i]` (`TransformerLayer`: `q k v o gate up down` as
/// `any LinearLayer` — a quantized layer can replace the f32 `Linear` — and `norm1`, `norm2`),
/// `model.head`. Weights are `Variable`s named after their checkpoint tensors (`model.parameters`).
/// Per-layer head counts and FFN widths come from the weight shapes, so physically pruned
/// checkpoints run as they are. `LayerStreamingExecutor` runs the same block one layer at a time
/// from a store (calibration on models larger than RAM in f32). docs/ARCHITECTURE.md has the map.
public final class TransformerModel {
    public let config: ModelConfig
    /// The family name table, with the prefix found in the checkpoint.
    public let layout: FamilyLayout
    public var embeddings: Embeddings
    public var layers: [TransformerLayer]
    public var head: ModelHead
    /// Hooks every eager forward runs before the caller's (a `qat` student's activation quantization,
    /// set by `loadCompressed` from `whittle.quantization`). The training tape does not add them.
    public var hooks: [SiteHook] = []

    public init(config: ModelConfig, layout: FamilyLayout? = nil, embeddings: Embeddings, layers: [TransformerLayer], head: ModelHead) {
        self.config = config; self.layout = layout ?? FamilyLayout(family: config.family)
        self.embeddings = embeddings; self.layers = layers; self.head = head
    }

    /// Loads every layer as f32 from `store` (its `config` is the parsed `config.json`) and applies
    /// the `whittle` section. `halfWeights` (inference): BF16 / F16 linears stay in their 16 bits
    /// (`HalfLinear`), and a 16-bit token table stays in the store (rows converted on use; a tied head
    /// is a `HalfLinear` on it) — what `loadCompressed` does for a 16-bit checkpoint.
    public static func load(from store: TensorStore, halfWeights: Bool = false) throws -> TransformerModel {
        let config = try ModelConfig.from(json: store.config)
        let whittle = try WhittleConfig.read(from: store.config)
        let weights = try FamilyWeights(config: config, store: store, halfWeights: halfWeights)
        let embeddings = try weights.embeddings(gatherFromStore: halfWeights && weights.tokenTableIsHalf)
        let layers = try (0..<config.numLayers).map { try weights.layer($0) }
        try apply(whittle, to: layers)
        return TransformerModel(config: config, layout: weights.layout, embeddings: embeddings, layers: layers,
                                head: try weights.head(embeddings: embeddings))
    }

    /// Sets each layer's structure from the section, checking unit indices against the layer's widths.
    static func apply(_ whittle: WhittleConfig, to layers: [TransformerLayer]) throws {
        for (layer, structure) in zip(layers, try whittle.structures(layers: layers.count)) { try apply(structure, to: layer) }
    }

    /// Sets one layer's structure, checking unit indices against its widths (also used when streaming).
    static func apply(_ structure: LayerStructure, to layer: TransformerLayer) throws {
        if let bad = structure.maskedHeads.first(where: { $0 >= layer.heads }) {
            throw ModelError.invalidConfig(key: "whittle.masked_heads.\(layer.index)", reason: "head \(bad) but the layer has \(layer.heads)")
        }
        if let bad = structure.maskedNeurons.first(where: { $0 >= layer.ffnWidth }) {
            throw ModelError.invalidConfig(key: "whittle.masked_neurons.\(layer.index)", reason: "neuron \(bad) but the layer has \(layer.ffnWidth)")
        }
        layer.structure = structure
    }

    /// Loads a checkpoint folder (config.json + safetensors) or a llama.cpp `.gguf` file
    /// (`GGUFTensorStore`: dequantized to F32, Hugging Face names and q/k order).
    public static func load(path: String) throws -> TransformerModel {
        try load(from: try openTensorStore(path: path))
    }

    /// Sublayers the model removes (`whittle.skipped_sublayers`); setting it changes the layers' structure.
    public var skippedSublayers: Set<SublayerID> {
        get {
            Set(layers.flatMap { l in [SublayerKind.attention, .mlp].filter { l.structure.skips($0) }.map { SublayerID(layer: l.index, kind: $0) } })
        }
        set {
            for l in layers {
                l.structure.skipAttention = newValue.contains(SublayerID(layer: l.index, kind: .attention))
                l.structure.skipMLP = newValue.contains(SublayerID(layer: l.index, kind: .mlp))
            }
        }
    }

    /// Runs the model on a batch (inference). See `ForwardOptions` for hooks and `ForwardOutput` for shapes.
    public func forward(_ input: ModelInput, options: ForwardOptions = ForwardOptions()) throws -> ForwardOutput {
        ForwardMemory.configured
        var options = options
        if !hooks.isEmpty { options.hooks = hooks + options.hooks }
        let e = EagerExecutor(state: try ForwardState(config: config, input: input, options: options))
        var x = embeddings.run(input, on: e)
        // Last-token logits only: the last block keeps only each sequence's last row (`run(keepRows:)`).
        let b = input.batchSize, t = input.seqLen
        let keep = options.computeHead && config.isCausalLM && options.headRows == .last && t > 1
            && layers.last.map { $0.canKeepRows(options) } == true
        for (i, layer) in layers.enumerated() {
            x = try layer.run(x, on: e, keepRows: keep && i == layers.count - 1 ? (0..<b).map { $0 * t + t - 1 } : nil)
        }
        return try head.finish(x, state: e.state, config: config, computeHead: options.computeHead, lastRowsKept: keep)
    }

    /// Incremental forward with a KV cache (inference): runs each sequence's new tokens `tokens[b]`
    /// (any positive count; ragged batches are right-padded inside) after the positions `cache`
    /// holds, stores their keys and values, and returns the logits of each sequence's last new token,
    /// `[B, V]`. The same block and executor as `forward`; structure from the `whittle` section
    /// (masked heads, skipped sublayers, gates) applies as there.
    public func forward(appending tokens: [[Int32]], to cache: KVCache) throws -> [Float] {
        if let reason = kvCacheProblem { throw ModelError.unsupportedOption(option: "KV cache", reason: reason) }
        let input = ModelInput(padding: tokens.map { $0.map(Int.init) })
        let state = try ForwardState(config: config, input: input, options: ForwardOptions(), cache: cache)
        let e = EagerExecutor(state: state)
        var x = embeddings.run(input, on: e)
        for layer in layers { x = try layer.run(x, on: e) }
        let t = input.seqLen, count = state.cacheGeometry!.count
        x = e.gatherRows(x, count.indices.map { $0 * t + count[$0] - 1 }, channels: config.hidden)
        if let n = head.finalNorm { x = e.norm(x, n) }
        let logits = try e.linear(x, head.lmHead!, nil)
        cache.commit(count)
        return logits
    }

    /// Why an incremental forward cannot reproduce `forward` on this model (nil: it can): not a
    /// causal LM, or a per-sequence attention gate (its mean runs over every position, later ones too).
    public var kvCacheProblem: String? {
        guard config.isCausalLM, head.lmHead != nil else { return "a KV cache needs a causal language model (this is a \(config.architecture))" }
        if let l = layers.first(where: { $0.attentionGate?.settings.type == .conditionalPerHead }) {
            return "layer \(l.index)'s conditional_per_head attention gate averages over the whole sequence, so earlier positions change with each new token"
        }
        return nil
    }

    /// Heads per layer and FFN width per layer (after any pruning).
    public var headCounts: [Int] { layers.map(\.heads) }
    public var ffnWidths: [Int] { layers.map(\.ffnWidth) }
}

extension ModelHead {
    /// Applies the head to the last hidden state `x[B·T, C]` (inference).
    public func finish(_ x: [Float], state: ForwardState, config: ModelConfig, computeHead: Bool, lastRowsKept: Bool = false) throws -> ForwardOutput {
        let e = EagerExecutor(state: state)
        guard computeHead else {
            return ForwardOutput(logits: x, shape: [state.batch, state.seqLen, config.hidden], captures: state.captures, lastHidden: x)
        }
        let (logits, shape) = try run(x, on: e, config: config, lastRowsKept: lastRowsKept)
        return ForwardOutput(logits: logits, shape: shape, captures: state.captures, lastHidden: x)
    }
}
