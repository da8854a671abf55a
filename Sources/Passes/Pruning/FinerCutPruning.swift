import Foundation
import Checkpoints
import Datasets
import Models

/// Pass `finercut` (FinerCut, ALGORITHMS.md §2): greedy removal of attention and MLP sublayers by
/// least divergence of the output distribution from the unpruned model on calibration tokens.
/// The full removal order (with the divergence at each step) goes into the report; the first
/// `remove_count` (or ⌊2L·remove_ratio⌋) sublayers are removed.
/// `baseline: "block"` instead removes whole blocks by input/output angular distance (ShortGPT-style)
/// at the same removed count, for comparison.
public struct FinerCutPruning: Pass, Equatable {
    public static let kind = "finercut"
    public static let category = PassCategory.pruning
    public var needs: PassNeeds { [.calibration] }

    public enum Baseline: String, Codable, Sendable, CaseIterable { case none, block }

    public var removeRatio: Double?
    public var removeCount: Int?
    /// The reference `-x`: hold out the first ⌊2L·x/2⌋+1 blocks until ⌊2L·x⌋+1 sublayers are removed.
    public var exclude: Double?
    public var divergence: OutputDivergence = .referenceJS
    public var baseline: Baseline = .none
    public var layout: PrunedLayout = .zeroed
    /// Compute the whole order (2L steps) for the report, not only the removed prefix.
    public var fullOrder: Bool = true
    /// Evaluate candidates with the layers read from the checkpoint one at a time
    /// (`LayerStreamingExecutor`): memory ≈ one layer + the head + activations, same order.
    public var streaming: Bool = false

    enum CodingKeys: String, CodingKey, CaseIterable {
        case removeRatio = "remove_ratio", removeCount = "remove_count", exclude, divergence, baseline, layout
        case fullOrder = "full_order", streaming
    }

    public init() {}

    public init(removeRatio: Double? = defaults.removeRatio, removeCount: Int? = defaults.removeCount,
                exclude: Double? = defaults.exclude, divergence: OutputDivergence = defaults.divergence,
                baseline: Baseline = defaults.baseline, layout: PrunedLayout = defaults.layout,
                fullOrder: Bool = defaults.fullOrder) {
        self.removeRatio = removeRatio; self.removeCount = removeCount; self.exclude = exclude
        self.divergence = divergence; self.baseline = baseline; self.layout = layout; self.fullOrder = fullOrder
    }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.passKeys(CodingKeys.self)
        try c.update(&removeRatio, .removeRatio)
        try c.update(&removeCount, .removeCount)
        try c.update(&exclude, .exclude)
        try c.update(&divergence, .divergence)
        try c.update(&baseline, .baseline)
        try c.update(&layout, .layout)
        try c.update(&fullOrder, .fullOrder)
        try c.update(&streaming, .streaming)
    }

    public func validate(path: String) throws {
        switch (removeRatio, removeCount) {
        case (nil, nil): throw PassError(path, "give remove_ratio (fraction of the 2L sublayers) or remove_count")
        case (.some, .some): throw PassError(path, "give either remove_ratio or remove_count, not both")
        case let (r?, nil) where !(r >= 0 && r < 1): throw PassError("\(path).remove_ratio", "must be in [0, 1) (got \(r))")
        case let (nil, n?) where n < 0: throw PassError("\(path).remove_count", "must be ≥ 0 (got \(n))")
        default: break
        }
        if let x = exclude, !(x >= 0 && x < 1) { throw PassError("\(path).exclude", "must be in [0, 1) (got \(x))") }
    }

    /// Number of sublayers removed for a model with `layers` blocks.
    public func count(layers: Int) -> Int {
        if let n = removeCount { return n }
        return Int((Double(2 * layers) * (removeRatio ?? 0)).rounded(.down))
    }

    public func apply(to model: EditableCheckpoint, context: PassContext) throws -> PassReport {
        try validate(path: Self.kind)
        let network: any LayerSource = streaming ? try LayerStreamingExecutor(store: model) : try TransformerModel.load(from: model)
        let layers = network.config.numLayers
        let k = count(layers: layers)
        guard k <= 2 * layers else {
            throw PassError("\(Self.kind).remove_count", "the model has \(2 * layers) sublayers; cannot remove \(k)")
        }
        guard network.config.task != .encoder else {
            throw PassError(Self.kind, "needs a model with an output distribution (causal LM or classifier); \(network.config.architecture) has none")
        }
        let input = try calibrationInput(context.calibration, config: network.config)
        let order = try removalOrder(network, input: input, count: k, progress: context.progress, ledger: context.ledger, step: context.step)
        let removed = Set(order.prefix(k).map(\.sublayer))
        var plan = PruningPlan(heads: network.headCounts, ffnWidths: network.ffnWidths)
        plan.skipped = removed
        let changes = try PrunedCheckpointWriter(model: model, config: network.config).write(plan, layout: layout)
        var r = report(network: network, input: input, order: order, removed: removed, plan: plan, changes: changes)
        guard let network = network as? TransformerModel else {
            r.notes.append("streaming: layers read one at a time; the forward speedup is not measured (it needs both models in memory)")
            return r
        }
        let speedup = try measuredSpeedup(original: network, pruned: try TransformerModel.load(from: model), input: input)
        r.metrics["measured_speedup"] = speedup
        r.summary += String(format: "; measured forward speedup %.2fx", speedup)
        return r
    }

    /// The removal order: greedy FinerCut, or blocks by angular distance (both sublayers per block,
    /// attention first) for the baseline. Each greedy step is item `s` of `step` in `ledger`, saved as
    /// soon as it is chosen (when the run keeps progress), so `--resume` continues after the last one.
    public func removalOrder(_ network: any LayerSource, input: ModelInput, count k: Int,
                             progress: ProgressReporter = .silent, ledger: WorkLedger = WorkLedger(),
                             step: String = kind) throws -> [RemovalStep] {
        let layers = network.config.numLayers
        let cache = PrefixCachedForward(model: network, input: input)
        try cache.setBase([])
        let rows = network.config.isCausalLM ? input.batchSize * input.seqLen : input.batchSize
        let reference = try cache.output(skip: [], fromLayer: 0)
        let vocab = reference.count / rows
        let referenceLogProbs = divergence == .angular ? [Double](repeating: 0, count: reference.count) : logSoftmaxRows(reference, rows: rows, vocab: vocab)
        func distance(_ removed: Set<SublayerID>, _ candidate: SublayerID) throws -> Double {
            try cache.setBase(removed.subtracting([candidate]))
            let logits = try cache.output(skip: removed, fromLayer: candidate.layer)
            return outputDivergence(divergence, reference: reference, referenceLogProbs: referenceLogProbs,
                                    candidate: logits, rows: rows, vocab: vocab)
        }
        switch baseline {
        case .none:
            let steps = fullOrder ? 2 * layers : k
            let held = exclude.map { finerCutExclusion(layers: layers, exclude: $0) } ?? (blocks: 0, releaseAfter: 0)
            var done: [RemovalStep] = []
            while let saved = try ledger.item(step, done.count, as: RemovalStep.self) { done.append(saved) }
            progress.start("finercut: greedy sublayer removal (\(steps) steps)", steps)
            defer { progress.finish() }
            return try greedyRemovalOrder(layers: layers, steps: steps, heldOutBlocks: held.blocks, releaseAfter: held.releaseAfter,
                                          done: done, onStep: progress.update, onRemoval: { try ledger.record(step, $0, $1, saveNow: true) },
                                          distance: distance)
        case .block:
            let c = network.config.hidden, n = input.batchSize * input.seqLen
            let angular = (0..<layers).map { meanAngularDistance(cache.prefix[$0], cache.prefix[$0 + 1], rows: n, channels: c) }
            var order: [RemovalStep] = [], removed = Set<SublayerID>()
            for l in blockRemovalOrder(distances: angular) {
                for kind in [SublayerKind.attention, .mlp] where order.count < (fullOrder ? 2 * layers : k) {
                    let s = SublayerID(layer: l, kind: kind)
                    removed.insert(s)
                    order.append(RemovalStep(sublayer: s, divergence: try distance(removed, s)))
                }
            }
            return order
        }
    }

    /// One batch of the calibration examples: padded classification examples, or LM sequences cut to the shortest.
    public func calibrationInput(_ examples: [Example], config: ModelConfig) throws -> ModelInput {
        guard !examples.isEmpty else { throw PassError(Self.kind, "needs calibration data (the recipe's `calibration` section)") }
        if config.isClassifier {
            return ModelInput(padding: examples.map { $0.ids.map(Int.init) },
                              tokenTypes: examples.map { ($0.tokenTypes ?? []).map(Int.init) })
        }
        guard let input = Example.languageModelBatch(examples) else { throw PassError(Self.kind, "calibration sequences are empty") }
        return input
    }

    func report(network: any LayerSource, input: ModelInput, order: [RemovalStep], removed: Set<SublayerID>,
                plan: PruningPlan, changes: [PassReport.TensorChange]) -> PassReport {
        let macs = BlockMACs(model: network, seqLen: Double(input.seqLen))
        let left = macs.blocks(skipping: removed)
        let label: (SublayerID) -> String = { "L\($0.layer).\($0.kind == .attention ? "attn" : "mlp")" }
        let attention = removed.filter { $0.kind == .attention }.count
        let what = baseline == .block ? "block baseline (angular distance)" : "FinerCut (\(divergence.rawValue))"
        return PassReport(
            kind: Self.kind,
            summary: "\(what): removed \(removed.count) of \(2 * network.config.numLayers) sublayers (\(attention) attention, \(removed.count - attention) MLP), "
                + "\(plan.droppedLayers.count) whole layers dropped; block MACs −" + String(format: "%.1f%%", 100 * (1 - left / macs.blocks)),
            metrics: ["removed_sublayers": Double(removed.count), "removed_attention": Double(attention),
                      "removed_mlp": Double(removed.count - attention), "dropped_layers": Double(plan.droppedLayers.count),
                      "block_mac_reduction": 1 - left / macs.blocks,
                      "mac_reduction_with_head": 1 - (left + macs.head) / macs.total,
                      "divergence_at_cut": order.prefix(removed.count).last?.divergence ?? 0],
            tensors: changes,
            series: [.init(title: "Removal order", xLabel: "sublayer removed (in order)", yLabel: "divergence (\(divergence.rawValue))",
                           labels: order.map { label($0.sublayer) }, values: order.map(\.divergence))],
            notes: ["removal order: " + order.map { label($0.sublayer) }.joined(separator: ", "),
                    "removed: " + order.prefix(removed.count).map { label($0.sublayer) }.joined(separator: ", "),
                    "layout \(layout.rawValue)"])
    }
}
