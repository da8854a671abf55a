import Checkpoints

/// A model's parts as a forward reaches them (docs/ARCHITECTURE.md "Bounded memory"): resident
/// (`TransformerModel`, every layer converted once) or read from the store one layer at a time
/// (`LayerStreamingExecutor`). A pass written against it runs either way with the same arithmetic.
public protocol LayerSource: AnyObject {
    var config: ModelConfig { get }
    /// Query heads, key/value heads and FFN width per layer (after any pruning), known without
    /// converting weights.
    var headCounts: [Int] { get }
    var kvHeadCounts: [Int] { get }
    var ffnWidths: [Int] { get }
    /// Sublayers the model removes (`whittle.skipped_sublayers`).
    var skippedSublayers: Set<SublayerID> { get }
    func embeddingLayer() throws -> Embeddings
    /// Layer `i` with its `whittle` structure applied. A streaming source converts it on each call
    /// (the caller drops it when done); a resident one returns its own.
    func layer(at i: Int) throws -> TransformerLayer
    func modelHead() throws -> ModelHead
}

extension TransformerModel: LayerSource {
    public var kvHeadCounts: [Int] { layers.map(\.kvHeads) }
    public func embeddingLayer() throws -> Embeddings { embeddings }
    public func layer(at i: Int) throws -> TransformerLayer { layers[i] }
    public func modelHead() throws -> ModelHead { head }
}

/// Runs calibration batches through a model one layer at a time (docs/ARCHITECTURE.md "Bounded memory"):
/// only one layer's f32 weights and the activations at the layer boundary (`[B·T, C]` per batch)
/// are resident, so models larger than RAM in f32 can be calibrated. Each layer is converted from
/// the store when reached and released after every batch passed through it.
///
/// The result equals `TransformerModel.forward` on each batch with the same options. As a
/// `LayerSource` it serves passes that drive the layers themselves (OPTIN scoring, FinerCut).
public final class LayerStreamingExecutor: LayerSource {
    public let config: ModelConfig
    let weights: FamilyWeights
    /// What the `whittle` section says about each layer (skipped sublayers, masks, normaliser), as
    /// `TransformerModel.load` applies it; gates load with the layer (`FamilyWeights`).
    let structures: [LayerStructure]
    public let headCounts: [Int]
    public let kvHeadCounts: [Int]
    public let ffnWidths: [Int]
    /// Layers converted so far (each conversion counts; a measure of the streaming's I/O).
    public private(set) var layerLoads = 0
    private var head: ModelHead?

    public init(store: TensorStore) throws {
        let config = try ModelConfig.from(json: store.config), weights = try FamilyWeights(config: config, store: store)
        self.config = config; self.weights = weights
        structures = try WhittleConfig.read(from: store.config).structures(layers: config.numLayers)
        let counts = try (0..<config.numLayers).map { try weights.unitCounts(layer: $0) }
        headCounts = counts.map(\.heads); kvHeadCounts = counts.map(\.kvHeads); ffnWidths = counts.map(\.ffnWidth)
    }

    public var skippedSublayers: Set<SublayerID> {
        Set(structures.indices.flatMap { i in
            [SublayerKind.attention, .mlp].filter { structures[i].skips($0) }.map { SublayerID(layer: i, kind: $0) }
        })
    }

    /// The embeddings with the token table left in the store (rows converted on use).
    public func embeddingLayer() throws -> Embeddings { try weights.embeddings(gatherFromStore: true) }

    public func layer(at i: Int) throws -> TransformerLayer {
        let layer = try weights.layer(i)
        try TransformerModel.apply(structures[i], to: layer)
        layerLoads += 1
        return layer
    }

    /// The head, converted once and kept (every scored unit needs it; a tied LM head is the token table).
    public func modelHead() throws -> ModelHead {
        if let head { return head }
        head = try weights.head(embeddings: try weights.embeddingsForHead())
        return head!
    }

    /// Runs every batch through the embeddings, then layer 0 for all batches, then layer 1, …
    /// `onLayer(layer, boundaries)` is called after each layer with its weights and the hidden states
    /// `[B·T, C]` per batch leaving it (GPTQ-style passes use this to process a layer in turn).
    public func run(_ batches: [ModelInput], options: ForwardOptions = ForwardOptions(),
                    onLayer: ((TransformerLayer, [[Float]]) throws -> Void)? = nil) throws -> [ForwardOutput] {
        var states = try batches.map { try ForwardState(config: config, input: $0, options: options) }
        var hidden: [[Float]]
        do {
            let embeddings = try embeddingLayer()
            hidden = zip(batches, states).map { embeddings.forward($0, state: $1) }
        }
        for i in 0..<config.numLayers {
            let layer = try self.layer(at: i)
            for b in hidden.indices { try layer.forward(&hidden[b], state: &states[b]) }
            try onLayer?(layer, hidden)
        }
        guard options.computeHead else {
            return hidden.indices.map { b in
                ForwardOutput(logits: hidden[b], shape: [states[b].batch, states[b].seqLen, config.hidden],
                              captures: states[b].captures, lastHidden: hidden[b])
            }
        }
        let head = try weights.head(embeddings: try weights.embeddingsForHead())
        return try hidden.indices.map { b in try head.finish(hidden[b], state: states[b], config: config, computeHead: true) }
    }
}

extension FamilyWeights {
    /// Only what the head needs from the embeddings: the token table when the LM head is tied.
    func embeddingsForHead() throws -> Embeddings {
        if config.isCausalLM && config.tieWordEmbeddings { return try embeddings() }
        return Embeddings(tokens: [], positions: nil, tokenTypes: nil, norm: nil, vocabSize: config.vocabSize, hidden: config.hidden)
    }

    /// Heads, key/value heads and FFN width of layer `i` from the stored shapes (as `layer(_:)` would build it).
    func unitCounts(layer i: Int) throws -> (heads: Int, kvHeads: Int, ffnWidth: Int) {
        func out(_ role: LinearRole) throws -> Int {
            let location = layout.linear(role, layer: i)!
            let shape = try reader.shape(location.name + ".weight")
            guard shape.count == 2 else {
                throw ModelError.tensorShape(name: location.name + ".weight", expected: [-1, -1], found: shape)
            }
            return (location.transposed ? shape[1] : shape[0]) / (location.part?.of ?? 1)
        }
        let heads = try out(.q) / config.headDim
        return (heads, layout.family == .bert ? heads : try out(.k) / config.headDim, try out(.up))
    }
}
