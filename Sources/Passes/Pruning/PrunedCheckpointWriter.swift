import Checkpoints
import Models
import Tensors

/// How pruned units are written (DESIGN.md §4).
public enum PrunedLayout: String, Codable, Sendable, CaseIterable {
    /// Same shapes as the input; removed heads/neurons/sublayers have zeroed output projections, so
    /// stock transformers computes the pruned function. Recorded in `config.json` `whittle`.
    case zeroed
    /// Physically smaller q/k/v/o and FFN tensors (a removed sublayer has width 0), which our runtime
    /// runs faster; BERT also gets `pruned_heads`. GQA layers drop only whole key/value groups.
    case sliced
}

/// Writes a `PruningPlan` into a checkpoint: zeroed or sliced tensors, whole layers dropped when
/// both of their sublayers go (the rest renumbered), and the `whittle` section of `config.json`.
struct PrunedCheckpointWriter {
    let model: EditableCheckpoint
    let config: ModelConfig
    /// The family name table, with the prefix found in the checkpoint.
    let names: FamilyLayout

    init(model: EditableCheckpoint, config: ModelConfig) throws {
        self.model = model; self.config = config
        names = try FamilyLayout(family: config.family, store: model)
    }

    /// What one layer's edit left: tensor changes, and the pruned units still in the stored tensors
    /// (zeroed, so every forward must keep them at zero: `whittle.masked_heads` / `masked_neurons`).
    struct Edit {
        var changes: [PassReport.TensorChange] = []
        var masked: [Int] = []
    }

    func write(_ plan: PruningPlan, layout: PrunedLayout) throws -> [PassReport.TensorChange] {
        var changes: [PassReport.TensorChange] = []
        var maskedHeads: [Int: [Int]] = [:], maskedNeurons: [Int: [Int]] = [:]
        let dropped = Set(plan.droppedLayers)
        for i in 0..<plan.layers where !dropped.contains(i) {
            let attention = try writeAttention(layer: i, plan: plan, layout: layout)
            let mlp = try writeMLP(layer: i, plan: plan, layout: layout)
            changes += attention.changes + mlp.changes
            if !attention.masked.isEmpty { maskedHeads[i] = attention.masked }
            if !mlp.masked.isEmpty { maskedNeurons[i] = mlp.masked }
        }
        changes += try dropLayers(dropped.sorted(), total: plan.layers)
        recordInConfig(plan, layout: layout, maskedHeads: maskedHeads, maskedNeurons: maskedNeurons)
        return changes
    }

    private func name(_ role: LinearRole, _ i: Int) -> String { names.linear(role, layer: i)!.name }

    // MARK: attention

    private func writeAttention(layer i: Int, plan: PruningPlan, layout: PrunedLayout) throws -> Edit {
        let hd = config.headDim
        let heads = plan.keepHeads[i].count
        let skipped = plan.skipped.contains(SublayerID(layer: i, kind: .attention))
        let removed = (0..<heads).filter { skipped || !plan.keepHeads[i][$0] }
        guard !removed.isEmpty else { return Edit() }
        let kvHeads = try self.kvHeads(layer: i, heads: heads)
        let o = name(.o, i)
        if layout == .zeroed {
            return Edit(changes: try zeroed(o, units: removed, width: hd, whole: skipped), masked: skipped ? [] : removed)
        }
        // Sliced: drop whole key/value groups whose query heads are all removed.
        let group = heads / kvHeads
        var dropKV = (0..<kvHeads).filter { g in (0..<group).allSatisfy { removed.contains(g * group + $0) } }
        if !skipped && dropKV.count == kvHeads { dropKV.removeFirst() }   // keep one (zeroed) group: the output bias stays
        let keepKV = (0..<kvHeads).filter { !dropKV.contains($0) }
        let keepQ = keepKV.flatMap { g in (0..<group).map { g * group + $0 } }
        var changes: [PassReport.TensorChange] = []
        if names.linear(.q, layer: i)!.part == nil {
            changes += try sliceOutputs(name(.q, i), rows: TensorSlicing.expand(keepQ, width: hd))
            changes += try sliceOutputs(name(.k, i), rows: TensorSlicing.expand(keepKV, width: hd))
            changes += try sliceOutputs(name(.v, i), rows: TensorSlicing.expand(keepKV, width: hd))
        } else {   // q | k | v fused along the outputs (GPT-2 c_attn)
            let c = config.hidden
            let cols = [0, 1, 2].flatMap { part in TensorSlicing.expand(keepQ, width: hd).map { part * c + $0 } }
            changes += try sliceOutputs(name(.q, i), rows: cols)
        }
        changes += try sliceInputs(o, columns: TensorSlicing.expand(keepQ, width: hd))
        // Removed query heads inside kept groups stay, zeroed.
        let zeroInKept = keepQ.enumerated().filter { removed.contains($0.element) }.map(\.offset)
        if !zeroInKept.isEmpty { _ = try zeroed(o, units: zeroInKept, width: hd, whole: false) }
        return Edit(changes: changes, masked: zeroInKept)
    }

    private func kvHeads(layer i: Int, heads: Int) throws -> Int {
        guard names.linear(.k, layer: i)!.part == nil, let spec = model.spec(name(.k, i) + ".weight") else { return heads }
        return spec.shape[0] / config.headDim
    }

    // MARK: MLP

    private func writeMLP(layer i: Int, plan: PruningPlan, layout: PrunedLayout) throws -> Edit {
        let width = plan.keepNeurons[i].count
        let skipped = plan.skipped.contains(SublayerID(layer: i, kind: .mlp))
        let removed = (0..<width).filter { skipped || !plan.keepNeurons[i][$0] }
        guard !removed.isEmpty else { return Edit() }
        let down = name(.down, i)
        if layout == .zeroed { return Edit(changes: try zeroed(down, units: removed, width: 1, whole: skipped), masked: skipped ? [] : removed) }
        var keep = (0..<width).filter { !removed.contains($0) }
        if keep.isEmpty && !skipped { keep = [removed[0]] }          // one zeroed neuron keeps the output bias
        var changes: [PassReport.TensorChange] = []
        for role in FamilyLayout.neuronOutputRoles { if let l = names.linear(role, layer: i) { changes += try sliceOutputs(l.name, rows: keep) } }
        changes += try sliceInputs(down, columns: keep)
        let zeroInKept = keep.enumerated().filter { removed.contains($0.element) }.map(\.offset)
        if !zeroInKept.isEmpty { _ = try zeroed(down, units: zeroInKept, width: 1, whole: false) }
        return Edit(changes: changes, masked: zeroInKept)
    }

    // MARK: tensor edits

    /// Zeroes the input features of output projection `name` for `units` (each `width` features);
    /// `whole` zeroes the weight and bias.
    private func zeroed(_ name: String, units: [Int], width: Int, whole: Bool) throws -> [PassReport.TensorChange] {
        let w = try model.tensor(name + ".weight")
        let before = "\(w.dtype) \(w.shape)"
        if whole {
            model.set(name + ".weight", TensorSlicing.zeros(like: w))
            if let b = try? model.tensor(name + ".bias") { model.set(name + ".bias", TensorSlicing.zeros(like: b)) }
            return [.init(name: name + ".weight", before: before, after: "zeroed (sublayer removed)", sparsity: 1)]
        }
        let features = TensorSlicing.expand(units, width: width)
        model.set(name + ".weight", names.isTransposedWeight(name + ".weight") ? TensorSlicing.zeroRows(w, features) : TensorSlicing.zeroColumns(w, features))
        let inputs = names.isTransposedWeight(name + ".weight") ? w.shape[0] : w.shape[1]
        return [.init(name: name + ".weight", before: before, after: "\(features.count) of \(inputs) input features zeroed",
                      sparsity: Double(features.count) / Double(max(inputs, 1)))]
    }

    /// Keeps output features `rows` of a projection (and its bias).
    private func sliceOutputs(_ name: String, rows: [Int]) throws -> [PassReport.TensorChange] {
        let w = try model.tensor(name + ".weight")
        let sliced = names.isTransposedWeight(name + ".weight") ? TensorSlicing.selectColumns(w, rows) : TensorSlicing.selectRows(w, rows)
        model.set(name + ".weight", sliced)
        if let b = try? model.tensor(name + ".bias") { model.set(name + ".bias", TensorSlicing.selectRows(b, rows)) }
        return [.init(name: name + ".weight", before: "\(w.dtype) \(w.shape)", after: "\(sliced.dtype) \(sliced.shape)")]
    }

    /// Keeps input features `columns` of a projection.
    private func sliceInputs(_ name: String, columns: [Int]) throws -> [PassReport.TensorChange] {
        let w = try model.tensor(name + ".weight")
        let sliced = names.isTransposedWeight(name + ".weight") ? TensorSlicing.selectRows(w, columns) : TensorSlicing.selectColumns(w, columns)
        model.set(name + ".weight", sliced)
        return [.init(name: name + ".weight", before: "\(w.dtype) \(w.shape)", after: "\(sliced.dtype) \(sliced.shape)")]
    }

    // MARK: layers and config

    /// Removes the tensors of `dropped` layers and renumbers the others.
    private func dropLayers(_ dropped: [Int], total: Int) throws -> [PassReport.TensorChange] {
        guard !dropped.isEmpty else { return [] }
        var changes: [PassReport.TensorChange] = []
        for i in dropped {
            for name in model.names where name.hasPrefix(names.layer(i)) { model.remove(name) }
            changes.append(.init(name: names.layer(i) + "*", before: "layer \(i)", after: "removed (both sublayers pruned)"))
        }
        var next = 0
        for i in 0..<total where !dropped.contains(i) {
            if i != next {
                for name in model.names where name.hasPrefix(names.layer(i)) {
                    try model.rename(name, to: names.layer(next) + name.dropFirst(names.layer(i).count))
                }
            }
            next += 1
        }
        return changes
    }

    private func recordInConfig(_ plan: PruningPlan, layout: PrunedLayout, maskedHeads: [Int: [Int]], maskedNeurons: [Int: [Int]]) {
        let dropped = plan.droppedLayers
        let kept = (0..<plan.layers).filter { !dropped.contains($0) }
        let renumber = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($0.element, $0.offset) })
        model.config[names.layerCountKey] = kept.count
        if let types = model.config["layer_types"] as? [Any], types.count == plan.layers {
            model.config["layer_types"] = kept.map { types[$0] }
        }
        var prunedHeads: [String: [Int]] = [:], prunedNeurons: [String: [Int]] = [:]
        for old in kept {
            var h = plan.keepHeads[old].indices.filter { !plan.keepHeads[old][$0] }
            if layout == .sliced, h.count == plan.keepHeads[old].count, !plan.skipped.contains(SublayerID(layer: old, kind: .attention)) {
                h.removeFirst(plan.keepHeads[old].count / max(config.numKVHeads, 1))   // the group kept (zeroed) for its bias
            }
            let n = plan.keepNeurons[old].indices.filter { !plan.keepNeurons[old][$0] }
            if !h.isEmpty { prunedHeads["\(renumber[old]!)"] = h }
            if !n.isEmpty { prunedNeurons["\(renumber[old]!)"] = n }
        }
        func renumbered(_ units: [Int: [Int]]) -> [String: [Int]]? {
            let out = Dictionary(uniqueKeysWithValues: units.compactMap { l, u in renumber[l].map { ("\($0)", u) } })
            return out.isEmpty ? nil : out
        }
        var section = (try? WhittleConfig.read(from: model.config)) ?? WhittleConfig()   // keeps what earlier passes recorded (attention)
        section.layout = layout.rawValue
        section.skippedSublayers = plan.skipped.compactMap { s in renumber[s.layer].map { SublayerID(layer: $0, kind: s.kind) } }
            .sorted { ($0.layer, $0.kind.rawValue) < ($1.layer, $1.kind.rawValue) }
        section.droppedLayers = dropped
        section.originalNumLayers = plan.layers
        section.prunedHeads = prunedHeads.isEmpty ? nil : prunedHeads
        section.prunedNeurons = prunedNeurons.isEmpty ? nil : prunedNeurons
        section.maskedHeads = renumbered(maskedHeads)
        section.maskedNeurons = renumbered(maskedNeurons)
        model.config["whittle"] = section.jsonObject
        if config.family == .bert, layout == .sliced, !prunedHeads.isEmpty { model.config["pruned_heads"] = prunedHeads }
    }
}
