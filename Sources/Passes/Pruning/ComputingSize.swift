import Models

/// What a model still computes (docs/ARCHITECTURE.md "Reports"): the parameters and multiply–accumulates
/// per token of the linear layers that run. Sublayers a pass removed (`whittle.skipped_sublayers`) and
/// units it masked or zeroed (`masked_heads` / `masked_neurons`, and `pruned_heads` / `pruned_neurons`
/// in the zeroed layout) stay stored but never contribute, so they are not counted; embeddings, norms
/// and the head are. (In the zeroed layout our runtime still multiplies the zeroed OPTIN units; they are
/// counted as what pruning removes, which the sliced layout realises.)
public struct ComputingSize: Sendable, Equatable {
    /// Stored parameters minus the linear weights and biases of skipped sublayers and masked units.
    public var parameters: Int
    /// MACs per token of the block linears that run plus the output head (hidden·vocab for a language
    /// model, the pooler and classifier once per sequence for a classifier, counted per token of a
    /// sequence of `seqLen`). The attention products q·kᵀ and p·v (2·seqLen·heads·headDim) are included too.
    public var macsPerToken: Double

    public init(model: TransformerModel, whittle: WhittleConfig = WhittleConfig(), storedParameters: Int, seqLen: Double = 128) {
        let zeroed = whittle.layout == "zeroed"
        let c = model.config.hidden
        var removed = 0, macs = 0.0
        func params(_ l: any LinearLayer) -> Int { l.inFeatures * l.outFeatures + ((l as? Linear)?.bias?.count ?? 0) }
        func hasBias(_ l: any LinearLayer) -> Int { (l as? Linear)?.bias == nil ? 0 : 1 }
        for layer in model.layers {
            let s = layer.structure, hd = layer.headDim
            let attention: [any LinearLayer] = [layer.q, layer.k, layer.v, layer.o]
            if s.skipAttention {
                removed += attention.map(params).reduce(0, +)
            } else {
                let m = Set(s.maskedHeads + (zeroed ? whittle.prunedHeads?[String(layer.index)] ?? [] : [])).count
                // A masked head's query rows (and bias) and output-projection columns do nothing.
                removed += m * (hd * c + hd * hasBias(layer.q) + hd * c)
                macs += Double(attention.map { $0.inFeatures * $0.outFeatures }.reduce(0, +) - m * 2 * hd * c)
                macs += 2 * seqLen * Double((layer.heads - m) * hd)
            }
            let mlp: [any LinearLayer] = (layer.gate.map { [$0] } ?? []) + [layer.up, layer.down]
            if s.skipMLP {
                removed += mlp.map(params).reduce(0, +)
            } else {
                let n = Set(s.maskedNeurons + (zeroed ? whittle.prunedNeurons?[String(layer.index)] ?? [] : [])).count
                let inputs = mlp.count - 1
                // A masked neuron's gate/up rows (and biases) and down-projection column do nothing.
                removed += n * (inputs * (c + hasBias(layer.up)) + c)
                macs += Double(mlp.map { $0.inFeatures * $0.outFeatures }.reduce(0, +) - n * (inputs + 1) * c)
            }
        }
        switch model.config.task {
        case .causalLM: macs += Double(c * model.config.vocabSize)
        case .sequenceClassification: macs += Double(c * c + c * model.config.numLabels) / seqLen
        case .encoder: break
        }
        parameters = storedParameters - removed
        macsPerToken = macs
    }
}
