import Tensors
import Foundation
import Datasets
import Kernels
import Models

/// Trajectory scores of every head and FFN neuron (ALGORITHMS.md §1.2): the distance of later
/// layers' FFN outputs (manifold distillation) and of the logits (T²·KL) between the unpruned model
/// and the model with only that unit removed, on the calibration set.
///
/// Cost control: the unpruned activations are computed once; a unit in layer l restarts from the
/// cached input of layer l (earlier layers are unchanged). A neuron's removal changes its layer's FFN
/// output by exactly −a_n ⊗ W2[:, n], so its own layer needs no recomputation, and `neuronBatch`
/// neurons run stacked along the batch dimension through the later layers.
///
/// The calibration set is given as segments (each a `ModelInput`): one padded batch reproduces the
/// reference (padding rows are feature rows); one unpadded segment per example skips padding rows
/// entirely (`exclude_padding`: same values on real tokens, about a third of the work on SST-2).
final class TrajectoryScorer {
    let model: TransformerModel
    let segments: [ModelInput]
    let temperature: Double
    let unresetHeadMask: Bool
    private let layers: Int
    private let c: Int
    /// Rows per segment and their offsets in the concatenated feature rows.
    private let segmentRows: [Int]
    private let segmentOffsets: [Int]
    private let totalRows: Int
    /// Cached unpruned activations per segment: layer inputs (`[L]` = last hidden) and FFN tensors per layer.
    private var prefix: [[[Float]]] = []
    private var ffnOutput: [[[Float]]] = []
    private var ffnInput: [[[Float]]] = []
    private var ffnActivation: [[[Float]]] = []
    private var referenceLogits: [Float] = []
    private var distances: [ManifoldDistance] = []

    init(model: TransformerModel, segments: [ModelInput], sampleRows: Int = 768, temperature: Double = 4,
         unresetHeadMask: Bool = false, seed: UInt64) throws {
        self.model = model; self.segments = segments; self.temperature = temperature; self.unresetHeadMask = unresetHeadMask
        layers = model.layers.count
        c = model.config.hidden
        let counts = segments.map { $0.batchSize * $0.seqLen }
        segmentRows = counts
        segmentOffsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        totalRows = counts.reduce(0, +)
        var logits: [Float] = []
        for input in segments {
            let options = ForwardOptions(skip: model.skippedSublayers, capture: [.ffnOutput, .ffnInput, .ffnActivation])
            var state = try ForwardState(config: model.config, input: input, options: options)
            var x = model.embeddings.forward(input, state: state)
            var inputs = [x]
            for layer in model.layers { try layer.forward(&x, state: &state); inputs.append(x) }
            prefix.append(inputs)
            logits += try model.head.finish(x, state: state, config: model.config, computeHead: true).logits
            let n = input.batchSize * input.seqLen
            func get(_ p: CapturePoint, _ l: Int, _ w: Int) -> [Float] {
                state.captures[CaptureKey(layer: l, point: p)]?.values ?? [Float](repeating: 0, count: n * w)
            }
            ffnOutput.append((0..<layers).map { get(.ffnOutput, $0, c) })
            ffnInput.append((0..<layers).map { get(.ffnInput, $0, c) })
            ffnActivation.append((0..<layers).map { get(.ffnActivation, $0, model.layers[$0].ffnWidth) })
        }
        referenceLogits = logits
        // Feature rows (the reference draws K = 768 of the B·T rows; here one seeded draw per scoring run).
        var rng = SeededGenerator(seed: seed)
        var rows = Array(0..<totalRows)
        if rows.count > sampleRows { rows = Array(rows.shuffled(using: &rng).prefix(sampleRows)).sorted() }
        for l in 0..<layers {
            let concatenated = ffnOutput.flatMap { $0[l] }
            concatenated.withUnsafeBufferPointer { distances.append(ManifoldDistance(reference: $0.baseAddress!, rows: rows, width: c)) }
        }
    }

    var unitCount: Int { model.layers.reduce(0) { $0 + $1.heads + $1.ffnWidth } }

    /// The independent work items in canonical order: each head alone, then each layer's neurons in
    /// batches of `neuronBatch` (a batch runs stacked, so it is one item: the same batches in every mode).
    func workItems(neuronBatch: Int) -> [[PrunableUnit]] {
        var items: [[PrunableUnit]] = []
        for l in 0..<layers { for h in 0..<model.layers[l].heads { items.append([PrunableUnit(.head, layer: l, index: h)]) } }
        for l in 0..<layers {
            let width = model.layers[l].ffnWidth
            for start in stride(from: 0, to: width, by: neuronBatch) {
                items.append((start..<min(start + neuronBatch, width)).map { PrunableUnit(.neuron, layer: l, index: $0) })
            }
        }
        return items
    }

    /// Terms of every unit in canonical order (heads of layer 0…L−1, then neurons of layer 0…L−1).
    /// Items already in `ledger` are taken from it; of the others, those in the ledger's slice are
    /// computed and recorded. Nil when some items belong to other slices (a shard's run).
    func score(neuronBatch: Int = 32, progress: ProgressReporter, ledger: WorkLedger = WorkLedger(),
               step: String = "optin") throws -> (units: [PrunableUnit], terms: [TrajectoryTerms])? {
        let items = workItems(neuronBatch: neuronBatch)
        var units: [PrunableUnit] = [], terms: [TrajectoryTerms] = [], complete = true
        progress.start("optin: trajectory scores of \(unitCount) heads and neurons", unitCount)
        defer { progress.finish() }
        for (i, item) in items.enumerated() {
            var result = try ledger.item(step, i, as: [TrajectoryTerms].self)
            if result == nil, ledger.shouldCompute(step, i, of: items.count) {
                let u = item[0]
                let computed = u.kind == .head ? [try scoreHead(layer: u.layer, head: u.index)]
                                               : try scoreNeurons(layer: u.layer, neurons: item.map(\.index))
                try ledger.record(step, i, computed)
                result = computed
            }
            guard let result, result.count == item.count else { complete = false; continue }
            units += item; terms += result
            progress.update(units.count)
        }
        return complete ? (units, terms) : nil
    }

    // MARK: propagation

    /// Runs `g` stacked copies of every segment from layer `start` (initial hidden states from
    /// `initial(segment)`, `[g·n_s, C]`) and returns the FFN outputs of layers ≥ `start` and the
    /// logits, each laid out copy-major over the concatenated segments.
    private func propagate(copies g: Int, start: Int, headMask: [[Float]]?,
                           initial: (Int) -> [Float]) throws -> (features: [Int: [Float]], logits: [[Float]]) {
        var features: [Int: [Float]] = [:]
        for k in start..<layers { features[k] = [Float](repeating: 0, count: g * totalRows * c) }
        var logits = [[Float]](repeating: [], count: g)
        for (s, input) in segments.enumerated() {
            let stacked = g == 1 ? input : ModelInput(tokens: Array(repeating: input.tokens, count: g).flatMap { $0 },
                                                     tokenTypes: input.tokenTypes.map { Array(repeating: $0, count: g).flatMap { $0 } },
                                                     attentionMask: input.attentionMask.map { Array(repeating: $0, count: g).flatMap { $0 } })
            let options = ForwardOptions(headMask: headMask, skip: model.skippedSublayers, capture: [.ffnOutput], captureLayers: Set(start..<layers))
            var state = try ForwardState(config: model.config, input: stacked, options: options)
            var x = initial(s)
            for j in start..<layers { try model.layers[j].forward(&x, state: &state) }
            let out = try model.head.finish(x, state: state, config: model.config, computeHead: true).logits
            let n = segmentRows[s], off = segmentOffsets[s]
            for k in start..<layers {
                guard let values = state.captures[CaptureKey(layer: k, point: .ffnOutput)]?.values else { continue }
                features[k]!.withUnsafeMutableBufferPointer { dst in
                    values.withUnsafeBufferPointer { src in
                        for i in 0..<g {
                            (dst.baseAddress! + (i * totalRows + off) * c).update(from: src.baseAddress! + i * n * c, count: n * c)
                        }
                    }
                }
            }
            let per = out.count / g
            for i in 0..<g { logits[i] += out[(i * per)..<((i + 1) * per)] }
        }
        return (features, logits)
    }

    // MARK: heads

    private func scoreHead(layer l: Int, head h: Int) throws -> TrajectoryTerms {
        var mask = model.layers.map { [Float](repeating: 1, count: $0.heads) }
        mask[l][h] = 0
        var start = l
        if unresetHeadMask && l > 0 {
            // Reference quirk: the mask is not reset between layers, so the last head of every
            // earlier layer stays masked while layer l is scored.
            for j in 0..<l { mask[j][mask[j].count - 1] = 0 }
            start = 0
        }
        let run = try propagate(copies: 1, start: start, headMask: mask) { self.prefix[$0][start] }
        return terms(layer: l, copy: 0, features: run.features, logits: run.logits[0])
    }

    // MARK: neurons

    private func scoreNeurons(layer l: Int, neurons: [Int]) throws -> [TrajectoryTerms] {
        let layer = model.layers[l]
        guard let down = layer.down as? Linear else {
            throw PassError("optin", "layer \(l) FFN output projection is not a float Linear (quantized?); prune before quantizing")
        }
        let f = layer.ffnWidth, g = neurons.count
        let columns = neurons.map { unit in (0..<c).map { down.weight[$0 * f + unit] } }
        // Perturbed FFN output of layer l, copy-major over the concatenated segments: F − a_n ⊗ w_n.
        var ownFeatures = [Float](repeating: 0, count: g * totalRows * c)
        for s in segments.indices {
            let n = segmentRows[s], off = segmentOffsets[s]
            let ref = ffnOutput[s][l], act = ffnActivation[s][l]
            for (i, unit) in neurons.enumerated() {
                let column = columns[i]
                ownFeatures.withUnsafeMutableBufferPointer { out in
                    let base = out.baseAddress! + (i * totalRows + off) * c
                    for r in 0..<n {
                        let a = act[r * f + unit]
                        for j in 0..<c { base[r * c + j] = ref[r * c + j] - a * column[j] }
                    }
                }
            }
        }
        // Block outputs of layer l for each copy: pre-norm x + F', post-norm LN2(h1 + F').
        let run = try propagate(copies: g, start: l + 1, headMask: nil) { s in
            let n = self.segmentRows[s], off = self.segmentOffsets[s]
            var hidden = [Float](repeating: 0, count: g * n * self.c)
            let residual = layer.placement == .pre ? zip(self.prefix[s][l + 1], self.ffnOutput[s][l]).map { $0 - $1 } : self.ffnInput[s][l]
            for i in 0..<g {
                let src = (i * self.totalRows + off) * self.c
                for r in 0..<(n * self.c) { hidden[i * n * self.c + r] = residual[r] + ownFeatures[src + r] }
            }
            if layer.placement == .post {
                let sum = hidden
                sum.withUnsafeBufferPointer { sp in hidden.withUnsafeMutableBufferPointer { hp in
                    layer.norm2.forward(hp.baseAddress!, sp.baseAddress!, rows: g * n)
                } }
            }
            return hidden
        }
        var features = run.features
        features[l] = ownFeatures
        return (0..<g).map { terms(layer: l, copy: $0, features: features, logits: run.logits[$0]) }
    }

    // MARK: terms

    /// MD over layers k > l (plus k = l for the last layer) and T²·KL of the logits, for one copy.
    private func terms(layer l: Int, copy i: Int, features: [Int: [Float]], logits: [Float]) -> TrajectoryTerms {
        var md = 0.0
        let ks = Array((l + 1)..<max(layers, l + 1)) + (l == layers - 1 ? [l] : [])
        for k in ks {
            features[k]!.withUnsafeBufferPointer { p in md += distances[k].distance(p.baseAddress! + i * totalRows * c) }
        }
        let kl = max(0, temperature * temperature * klSum(reference: referenceLogits, pruned: logits))
        return TrajectoryTerms(md: md, kl: kl)
    }

    /// Σ over rows of KL(softmax(ref) ‖ softmax(pruned)) (classifier: one row per example; LM: per token).
    private func klSum(reference: [Float], pruned: [Float]) -> Double {
        let width = model.config.isClassifier ? model.config.numLabels : model.config.vocabSize
        let r = reference.count / width
        let lp = logSoftmaxRows(reference, rows: r, vocab: width), lq = logSoftmaxRows(pruned, rows: r, vocab: width)
        var s = 0.0
        for i in lp.indices { s += exp(lp[i]) * (lp[i] - lq[i]) }
        return s
    }
}
