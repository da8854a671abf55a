import Datasets
import Models

/// Forward passes of one calibration batch under different sets of removed sublayers, reusing the
/// hidden states that do not change: for a removal set `base ∪ {c}` with `c` in layer l, layers
/// before l compute exactly what they compute for `base`, so the run starts at `base`'s layer-l input.
/// Layers come from a `LayerSource`: a loaded model, or the checkpoint one layer at a time
/// (`LayerStreamingExecutor`: each run converts the layers it passes through and drops them, so
/// memory is one layer + the head + the cached layer inputs; same arithmetic, same bits).
final class PrefixCachedForward {
    let model: any LayerSource
    let input: ModelInput
    private(set) var base: Set<SublayerID>? = nil
    /// `prefix[l]` = input of layer l under `base` (`prefix[L]` = last hidden state).
    private(set) var prefix: [[Float]] = []
    private var head: ModelHead?

    init(model: any LayerSource, input: ModelInput) {
        self.model = model; self.input = input
    }

    private func state(skip: Set<SublayerID>) throws -> ForwardState {
        try ForwardState(config: model.config, input: input, options: ForwardOptions(skip: skip.union(model.skippedSublayers)))
    }

    /// Computes (or reuses) the layer inputs under `skip`.
    func setBase(_ skip: Set<SublayerID>) throws {
        if base == skip { return }
        var st = try state(skip: skip)
        var x = try model.embeddingLayer().forward(input, state: st)
        var states = [x]
        for l in 0..<model.config.numLayers { try model.layer(at: l).forward(&x, state: &st); states.append(x) }
        prefix = states; base = skip
    }

    /// Model output with `skip` removed, starting from the cached input of `layer` (which must be
    /// unaffected by the difference between `skip` and the current base).
    func output(skip: Set<SublayerID>, fromLayer layer: Int) throws -> [Float] {
        precondition(base != nil, "setBase first")
        var st = try state(skip: skip)
        var x = prefix[layer]
        for l in layer..<model.config.numLayers { try model.layer(at: l).forward(&x, state: &st) }
        if head == nil { head = try model.modelHead() }
        return try head!.finish(x, state: st, config: model.config, computeHead: true).logits
    }
}

extension Example {
    static func languageModelBatch(_ examples: [Example]) -> ModelInput? {
        guard let t = examples.map(\.ids.count).min(), t > 0 else { return nil }
        return ModelInput(tokens: examples.map { $0.ids.prefix(t).map(Int.init) })
    }
}
