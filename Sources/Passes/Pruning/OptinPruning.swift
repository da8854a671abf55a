import Foundation
import Checkpoints
import Datasets
import Models

/// Pass `optin` (OPTIN, ALGORITHMS.md §1): one-shot structured pruning of attention heads and FFN
/// neurons under a MAC budget (`flops_ratio` = the reference's `mac_constraint`), ranked by each
/// unit's trajectory score (feature distillation on later layers + λ-balanced logit KL) with the
/// global selection of `globalRankingLanguage`. No retraining.
///
/// `ranking: "magnitude" | "random"` are baselines that keep the *same number* of heads and neurons
/// as OPTIN chose (`match_heads` / `match_neurons`, or computed by running OPTIN's selection).
public struct OptinPruning: Pass, Equatable {
    public static let kind = "optin"
    public static let category = PassCategory.pruning
    public var needs: PassNeeds { [.calibration] }
    /// Trajectory scoring: one item per head and per neuron batch.
    public var splitsIntoWorkItems: Bool { ranking == .trajectory || matchHeads == nil || matchNeurons == nil }

    public enum Ranking: String, Codable, Sendable, CaseIterable { case trajectory, magnitude, random }

    public var flopsRatio: Double = 0.6
    /// Average sequence length of the MAC model (the task's dev-set mean; default: the calibration mean).
    public var macSeqLen: Double?
    public var ranking: Ranking = .trajectory
    public var matchHeads: Int?
    public var matchNeurons: Int?
    /// Feature distances on real tokens only (the reference includes padding rows).
    public var excludePadding: Bool = false
    /// Divide each unit's importance by the mean importance of its kind in its layer before the global ranking.
    public var perLayerNormalization: Bool = false
    /// Reference-code quirks (ALGORITHMS.md §1.2–1.3), all off by default.
    public var indexWeights: Bool = false
    public var unresetHeadMask: Bool = false
    public var allowOverBudget: Bool = false
    public var lambda: Double = 10
    public var temperature: Double = 4
    public var sampleRows: Int = 768
    public var neuronBatch: Int = 32
    public var layout: PrunedLayout = .zeroed
    public var seed: UInt64?
    /// Score with the layers read from the checkpoint one at a time (`LayerStreamingExecutor`):
    /// memory ≈ one layer + the head + the calibration activations, same scores as the loaded model.
    public var streaming: Bool = false

    enum CodingKeys: String, CodingKey, CaseIterable {
        case flopsRatio = "flops_ratio", macSeqLen = "mac_seq_len", ranking, matchHeads = "match_heads", matchNeurons = "match_neurons"
        case excludePadding = "exclude_padding", perLayerNormalization = "per_layer_normalization"
        case indexWeights = "index_weights", unresetHeadMask = "unreset_head_mask", allowOverBudget = "allow_over_budget"
        case lambda, temperature, sampleRows = "sample_rows", neuronBatch = "neuron_batch", layout, seed, streaming
    }

    public init() {}

    public init(flopsRatio: Double = defaults.flopsRatio, ranking: Ranking = defaults.ranking,
                excludePadding: Bool = defaults.excludePadding, perLayerNormalization: Bool = defaults.perLayerNormalization,
                layout: PrunedLayout = defaults.layout) {
        self.flopsRatio = flopsRatio; self.ranking = ranking; self.excludePadding = excludePadding
        self.perLayerNormalization = perLayerNormalization; self.layout = layout
    }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.passKeys(CodingKeys.self)
        try c.update(&flopsRatio, .flopsRatio)
        try c.update(&macSeqLen, .macSeqLen)
        try c.update(&ranking, .ranking)
        try c.update(&matchHeads, .matchHeads)
        try c.update(&matchNeurons, .matchNeurons)
        try c.update(&excludePadding, .excludePadding)
        try c.update(&perLayerNormalization, .perLayerNormalization)
        try c.update(&indexWeights, .indexWeights)
        try c.update(&unresetHeadMask, .unresetHeadMask)
        try c.update(&allowOverBudget, .allowOverBudget)
        try c.update(&lambda, .lambda)
        try c.update(&temperature, .temperature)
        try c.update(&sampleRows, .sampleRows)
        try c.update(&neuronBatch, .neuronBatch)
        try c.update(&layout, .layout)
        try c.update(&seed, .seed)
        try c.update(&streaming, .streaming)
    }

    public func validate(path: String) throws {
        guard flopsRatio > 0 && flopsRatio <= 1 else { throw PassError("\(path).flops_ratio", "must be in (0, 1] (got \(flopsRatio))") }
        if let s = macSeqLen, !(s > 0) { throw PassError("\(path).mac_seq_len", "must be positive (got \(s))") }
        if let h = matchHeads, h < 1 { throw PassError("\(path).match_heads", "must be ≥ 1 (got \(h))") }
        if let n = matchNeurons, n < 0 { throw PassError("\(path).match_neurons", "must be ≥ 0 (got \(n))") }
        if (matchHeads != nil || matchNeurons != nil) && ranking == .trajectory {
            throw PassError("\(path).match_heads", "match_heads / match_neurons apply to the magnitude and random baselines only")
        }
        guard lambda > 0 else { throw PassError("\(path).lambda", "must be positive (got \(lambda))") }
        guard sampleRows > 0 else { throw PassError("\(path).sample_rows", "must be positive (got \(sampleRows))") }
        guard neuronBatch > 0 else { throw PassError("\(path).neuron_batch", "must be positive (got \(neuronBatch))") }
        if streaming && ranking != .trajectory {
            throw PassError("\(path).streaming", "streams the trajectory scoring; the \(ranking.rawValue) baseline reads the whole model")
        }
    }

    // MARK: apply

    public func apply(to model: EditableCheckpoint, context: PassContext) throws -> PassReport {
        try validate(path: Self.kind)
        let network: any LayerSource = streaming ? try LayerStreamingExecutor(store: model) : try TransformerModel.load(from: model)
        guard network.config.task != .encoder else {
            throw PassError(Self.kind, "needs a model with an output distribution (causal LM or classifier); \(network.config.architecture) has none")
        }
        let s = macSeqLen ?? Self.meanLength(context.calibration)
        var scores: OptinScores? = nil
        if ranking == .trajectory || matchHeads == nil || matchNeurons == nil {
            scores = try self.scores(network, calibration: context.calibration, progress: context.progress, seed: seed ?? context.seed,
                                     ledger: context.ledger, step: context.step)
        }
        let (plan, selection) = try self.plan(network, scores: scores, macSeqLen: s, seed: seed ?? context.seed)
        let changes = try PrunedCheckpointWriter(model: model, config: network.config).write(plan, layout: layout)
        var r = report(network: network, plan: plan, selection: selection, macSeqLen: s, changes: changes)
        guard let network = network as? TransformerModel else {
            r.notes.append("streaming: layers read one at a time; the forward speedup is not measured (it needs both models in memory)")
            return r
        }
        let input = try FinerCutPruning().calibrationInput(context.calibration, config: network.config)
        let speedup = try measuredSpeedup(original: network, pruned: try TransformerModel.load(from: model), input: input)
        r.metrics["measured_speedup"] = speedup
        r.summary += String(format: "; measured forward speedup %.2fx (\(layout.rawValue) layout)", speedup)
        return r
    }

    /// The calibration as the scorer runs it: one unpadded segment per example (`exclude_padding` on a
    /// classifier) or one padded batch.
    func segments(_ network: any LayerSource, calibration: [Example]) throws -> [ModelInput] {
        guard excludePadding && network.config.isClassifier else {
            return [try FinerCutPruning().calibrationInput(calibration, config: network.config)]
        }
        return calibration.map { e in ModelInput(tokens: [e.ids.map(Int.init)], tokenTypes: e.tokenTypes.map { [$0.map(Int.init)] }) }
    }

    /// Floating-point operations of `scores` (2 per multiply-add; matmuls, attention, Gram matrices and
    /// the head; norms and elementwise ops not counted): what the bench divides by the scoring time.
    public func scoringFLOPs(_ network: any LayerSource, calibration: [Example]) throws -> Double {
        try OptinScoringCost(network, segments: segments(network, calibration: calibration), sampleRows: sampleRows,
                             unresetHeadMask: unresetHeadMask).flops
    }

    static func meanLength(_ examples: [Example]) -> Double {
        Double(examples.reduce(0) { $0 + $1.ids.count }) / Double(max(examples.count, 1))
    }

    /// Trajectory terms of every unit (the expensive part; independent of the budget and of the
    /// options applied afterwards, so one scoring serves every `flops_ratio` and variant).
    /// With `exclude_padding` every calibration example runs unpadded (feature rows = real tokens).
    /// Items come from and go to `ledger` (sharding, resume); a slice of them throws `SliceComplete`.
    public func scores(_ network: any LayerSource, calibration: [Example], progress: ProgressReporter = .silent,
                       seed: UInt64 = 0, ledger: WorkLedger = WorkLedger(), step: String = kind) throws -> OptinScores {
        let scorer = try TrajectoryScorer(model: network, segments: try segments(network, calibration: calibration), sampleRows: sampleRows,
                                          temperature: temperature, unresetHeadMask: unresetHeadMask, seed: seed)
        guard let s = try scorer.score(neuronBatch: neuronBatch, progress: progress, ledger: ledger, step: step) else {
            throw SliceComplete(step: step)
        }
        return OptinScores(units: s.units, terms: s.terms, excludePadding: excludePadding && network.config.isClassifier)
    }

    /// Importance of every unit after λ-balancing, the reference multipliers and the options.
    public func importance(_ scores: OptinScores, network: any LayerSource) -> [PrunableUnit: Double] {
        let terms = scores.terms
        var out: [PrunableUnit: Double] = [:]
        for kind in [PrunableUnit.Kind.head, .neuron] {
            let idx = scores.units.indices.filter { scores.units[$0].kind == kind }
            let balanced = balanceTrajectoryTerms(idx.map { terms[$0] }, lambda: lambda)
            for (i, value) in zip(idx, balanced) {
                let u = scores.units[i]
                let width = kind == .head ? network.headCounts[u.layer] : network.ffnWidths[u.layer]
                out[u] = value * trajectoryMultiplier(layer: u.layer, index: u.index, layers: network.config.numLayers, width: width,
                                                      classWeight: kind == .head ? 0.5 : 1, indexWeights: indexWeights,
                                                      indexTop: kind == .head ? 10 : 100)
            }
        }
        return perLayerNormalization ? Self.normalizedPerLayer(out) : out
    }

    /// Each unit's importance divided by the mean of its kind in its layer, times the mean of its
    /// kind over the model: layers become comparable while the head-versus-neuron scale (which the
    /// MAC-weighted selection trades off) is kept.
    static func normalizedPerLayer(_ importance: [PrunableUnit: Double]) -> [PrunableUnit: Double] {
        var layerSums: [String: (Double, Int)] = [:], kindSums: [PrunableUnit.Kind: (Double, Int)] = [:]
        for (u, v) in importance {
            let key = "\(u.kind)\(u.layer)"
            let s = layerSums[key] ?? (0, 0); layerSums[key] = (s.0 + v, s.1 + 1)
            let k = kindSums[u.kind] ?? (0, 0); kindSums[u.kind] = (k.0 + v, k.1 + 1)
        }
        return Dictionary(uniqueKeysWithValues: importance.map { u, v in
            let (ls, ln) = layerSums["\(u.kind)\(u.layer)"]!, (ks, kn) = kindSums[u.kind]!
            let layerMean = ls / Double(ln), kindMean = ks / Double(kn)
            return (u, layerMean > 0 ? v / layerMean * kindMean : v)
        })
    }

    /// Global selection under the budget (trajectory) or top-K by the baseline ranking at OPTIN's counts.
    public func plan(_ network: any LayerSource, scores: OptinScores?, macSeqLen s: Double, seed: UInt64 = 0) throws -> (PruningPlan, OptinSelection) {
        let mac = OptinMACModel(hidden: network.config.hidden, headDim: network.config.headDim, seqLen: s)
        let totalHeads = network.headCounts.reduce(0, +), totalNeurons = network.ffnWidths.reduce(0, +)
        let capacity = flopsRatio * mac.macs(heads: totalHeads, neurons: totalNeurons)
        func sorted(_ imp: [PrunableUnit: Double], _ kind: PrunableUnit.Kind) -> [(PrunableUnit, Double)] {
            imp.filter { $0.key.kind == kind }.map { ($0.key, $0.value) }
                .sorted { ($0.1, -$0.0.layer, -$0.0.index) > ($1.1, -$1.0.layer, -$1.0.index) }
        }
        var selection: OptinSelection
        if let scores, ranking == .trajectory || matchHeads == nil || matchNeurons == nil {
            let imp = importance(scores, network: network)
            let h = sorted(imp, .head), n = sorted(imp, .neuron)
            selection = optinGlobalSelection(headImportance: h.map(\.1), neuronImportance: n.map(\.1), macHead: mac.macHead,
                                             macNeuron: mac.macNeuron, capacity: capacity, allowOverBudget: allowOverBudget)
            if ranking == .trajectory {
                return (Self.plan(network, heads: h.prefix(selection.keptHeads).map(\.0), neurons: n.prefix(selection.keptNeurons).map(\.0)), selection)
            }
        } else {
            selection = OptinSelection(keptHeads: 0, keptNeurons: 0, importance: 0)
        }
        if let mh = matchHeads { selection.keptHeads = min(mh, totalHeads) }
        if let mn = matchNeurons { selection.keptNeurons = min(mn, totalNeurons) }
        guard let network = network as? TransformerModel else {
            throw PassError("\(Self.kind).streaming", "the \(ranking.rawValue) baseline needs the loaded model")
        }
        let baseline = ranking == .magnitude ? UnitRanking.magnitude(network) : UnitRanking.random(network, seed: seed)
        let h = sorted(baseline, .head), n = sorted(baseline, .neuron)
        return (Self.plan(network, heads: h.prefix(selection.keptHeads).map(\.0), neurons: n.prefix(selection.keptNeurons).map(\.0)), selection)
    }

    static func plan(_ network: any LayerSource, heads: [PrunableUnit], neurons: [PrunableUnit]) -> PruningPlan {
        var plan = PruningPlan(keepHeads: network.headCounts.map { [Bool](repeating: false, count: $0) },
                               keepNeurons: network.ffnWidths.map { [Bool](repeating: false, count: $0) })
        for u in heads { plan.keepHeads[u.layer][u.index] = true }
        for u in neurons { plan.keepNeurons[u.layer][u.index] = true }
        return plan
    }

    func report(network: any LayerSource, plan: PruningPlan, selection: OptinSelection, macSeqLen s: Double,
                changes: [PassReport.TensorChange]) -> PassReport {
        let mac = OptinMACModel(hidden: network.config.hidden, headDim: network.config.headDim, seqLen: s)
        let base = mac.macs(heads: network.headCounts.reduce(0, +), neurons: network.ffnWidths.reduce(0, +))
        let kept = mac.macs(heads: plan.keptHeadCount, neurons: plan.keptNeuronCount)
        let layers = 0..<network.config.numLayers
        return PassReport(
            kind: Self.kind,
            summary: "OPTIN (\(ranking.rawValue)) at flops_ratio \(flopsRatio): kept \(plan.keptHeadCount) of \(network.headCounts.reduce(0, +)) heads and "
                + "\(plan.keptNeuronCount) of \(network.ffnWidths.reduce(0, +)) FFN neurons; MACs −" + String(format: "%.1f%%", 100 * (1 - kept / base)),
            metrics: ["kept_heads": Double(plan.keptHeadCount), "kept_neurons": Double(plan.keptNeuronCount),
                      "mac_reduction": 1 - kept / base, "mac_seq_len": s, "selected_importance": selection.importance],
            tensors: changes,
            series: [.init(title: "Heads kept per layer", xLabel: "layer", yLabel: "heads", labels: layers.map { "L\($0)" },
                           values: plan.keepHeads.map { Double($0.filter { $0 }.count) }),
                     .init(title: "FFN neurons kept per layer", xLabel: "layer", yLabel: "neurons", labels: layers.map { "L\($0)" },
                           values: plan.keepNeurons.map { Double($0.filter { $0 }.count) })],
            notes: ["options: exclude_padding \(excludePadding), per_layer_normalization \(perLayerNormalization), index_weights \(indexWeights), "
                    + "unreset_head_mask \(unresetHeadMask), allow_over_budget \(allowOverBudget); layout \(layout.rawValue)"])
    }
}

/// Trajectory terms of every unit in canonical order (heads of layer 0…L−1, then neurons).
public struct OptinScores: Sendable, Codable {
    public var units: [PrunableUnit]
    public var terms: [TrajectoryTerms]
    /// Feature rows were real tokens only.
    public var excludePadding: Bool
    public init(units: [PrunableUnit], terms: [TrajectoryTerms], excludePadding: Bool) {
        self.units = units; self.terms = terms; self.excludePadding = excludePadding
    }
}
