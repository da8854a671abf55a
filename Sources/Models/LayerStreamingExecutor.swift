import Checkpoints

/// Runs calibration batches through a model one layer at a time (docs/ARCHITECTURE.md "Bounded memory"):
/// only one layer's f32 weights and the activations at the layer boundary (`[B·T, C]` per batch)
/// are resident, so models larger than RAM in f32 can be calibrated. Each layer is converted from
/// the store when reached and released after every batch passed through it.
///
/// The result equals `TransformerModel.forward` on each batch with the same options.
public final class LayerStreamingExecutor {
    public let config: ModelConfig
    let weights: FamilyWeights
    /// What the `whittle` section says about each layer (skipped sublayers, masks, normaliser), as
    /// `TransformerModel.load` applies it; gates load with the layer (`FamilyWeights`).
    let structures: [LayerStructure]

    public init(store: TensorStore) throws {
        config = try ModelConfig.from(json: store.config)
        weights = try FamilyWeights(config: config, store: store)
        structures = try WhittleConfig.read(from: store.config).structures(layers: config.numLayers)
    }

    /// Runs every batch through the embeddings, then layer 0 for all batches, then layer 1, …
    /// `onLayer(layer, boundaries)` is called after each layer with its weights and the hidden states
    /// `[B·T, C]` per batch leaving it (GPTQ-style passes use this to process a layer in turn).
    public func run(_ batches: [ModelInput], options: ForwardOptions = ForwardOptions(),
                    onLayer: ((TransformerLayer, [[Float]]) throws -> Void)? = nil) throws -> [ForwardOutput] {
        var states = try batches.map { try ForwardState(config: config, input: $0, options: options) }
        var hidden: [[Float]]
        do {
            let embeddings = try weights.embeddings(gatherFromStore: true)
            hidden = zip(batches, states).map { embeddings.forward($0, state: $1) }
        }
        for i in 0..<config.numLayers {
            let layer = try weights.layer(i)
            try TransformerModel.apply(structures[i], to: layer)
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
}
