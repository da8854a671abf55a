import Models

/// Multiply–accumulates per token of each block's sublayers at sequence length `s`, from the layer
/// shapes (so physically pruned models count what they run). Embeddings and the head are separate.
public struct BlockMACs: Sendable, Equatable {
    public var attention: [Double]
    public var mlp: [Double]
    public var head: Double

    public init(model: any LayerSource, seqLen s: Double) {
        let c = Double(model.config.hidden), hd = Double(model.config.headDim)
        attention = zip(model.headCounts, model.kvHeadCounts).map { heads, kvHeads in
            let q = Double(heads) * hd, kv = Double(kvHeads) * hd
            return c * q + 2 * c * kv + q * c + 2 * s * q
        }
        mlp = model.ffnWidths.map { Double(model.config.gatedMLP ? 3 : 2) * c * Double($0) }
        switch model.config.task {
        case .causalLM: head = c * Double(model.config.vocabSize)
        case .sequenceClassification: head = (c * c + c * Double(model.config.numLabels)) / s
        case .encoder: head = 0
        }
    }

    public var blocks: Double { attention.reduce(0, +) + mlp.reduce(0, +) }
    public var total: Double { blocks + head }

    /// MACs left when `skipped` sublayers are not run.
    public func blocks(skipping skipped: Set<SublayerID>) -> Double {
        var sum = 0.0
        for l in attention.indices {
            if !skipped.contains(SublayerID(layer: l, kind: .attention)) { sum += attention[l] }
            if !skipped.contains(SublayerID(layer: l, kind: .mlp)) { sum += mlp[l] }
        }
        return sum
    }
}
