import Checkpoints
import Models

/// What a pruning pass removes: per-layer keep masks for query heads and FFN neurons, plus whole
/// sublayers whose output is dropped entirely (FinerCut; output bias included).
public struct PruningPlan: Codable, Sendable, Equatable {
    /// `[layer][head]` true = kept.
    public var keepHeads: [[Bool]]
    /// `[layer][neuron]` true = kept.
    public var keepNeurons: [[Bool]]
    /// Sublayers removed as a whole (their output, bias included, is zero).
    public var skipped: Set<SublayerID>

    public init(keepHeads: [[Bool]], keepNeurons: [[Bool]], skipped: Set<SublayerID> = []) {
        self.keepHeads = keepHeads; self.keepNeurons = keepNeurons; self.skipped = skipped
    }

    /// Everything kept, for a model with these per-layer head counts and FFN widths.
    public init(heads: [Int], ffnWidths: [Int]) {
        keepHeads = heads.map { [Bool](repeating: true, count: $0) }
        keepNeurons = ffnWidths.map { [Bool](repeating: true, count: $0) }
        skipped = []
    }

    public var layers: Int { keepHeads.count }
    public var keptHeadCount: Int { keepHeads.joined().filter { $0 }.count }
    public var keptNeuronCount: Int { keepNeurons.joined().filter { $0 }.count }

    /// Layers whose two sublayers are both skipped: dropped from the checkpoint, the rest renumbered.
    public var droppedLayers: [Int] {
        (0..<layers).filter { skipped.contains(SublayerID(layer: $0, kind: .attention)) && skipped.contains(SublayerID(layer: $0, kind: .mlp)) }
    }

    /// Forward hooks that compute the pruned function on the unpruned weights.
    public var forwardOptions: ForwardOptions {
        ForwardOptions(headMask: keepHeads.map { $0.map { $0 ? 1 : 0 } },
                       neuronMask: keepNeurons.map { $0.map { $0 ? 1 : 0 } }, skip: skipped)
    }
}

extension PruningPlan {
    /// Writes this plan into `model` (tensors + `config.json`), as the passes do; returns the tensor changes.
    @discardableResult
    public func write(into model: EditableCheckpoint, layout: PrunedLayout) throws -> [PassReport.TensorChange] {
        let config = try ModelConfig.from(json: model.config)
        return try PrunedCheckpointWriter(model: model, config: config).write(self, layout: layout)
    }
}
