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
/// Memory (docs/ARCHITECTURE.md "Layer-streamed pruning"): items run in waves of at most
/// `neuronBatch` copies per worker (`Threads.count`; a wave's items run concurrently), layer-major —
/// each layer is taken from the `LayerSource` once per wave and every item in flight passes through it; a later layer's FFN output is reduced to its distance
/// term as soon as it is computed, and the head + KL run `headRows` logit rows at a time. With a
/// `LayerStreamingExecutor` only one layer's weights (plus the head) are resident; with a loaded
/// `TransformerModel` the arithmetic is the same, so both give the same bits.
///
/// The calibration set is given as segments (each a `ModelInput`): one padded batch reproduces the
/// reference (padding rows are feature rows); one unpadded segment per example skips padding rows
/// entirely (`exclude_padding`: same values on real tokens, about a third of the work on SST-2).
final class TrajectoryScorer {
    let source: any LayerSource
    let config: ModelConfig
    let segments: [ModelInput]
    let temperature: Double
    let unresetHeadMask: Bool
    let headCounts: [Int]
    let ffnWidths: [Int]
    /// Logit rows computed at once by the head (bounds the `[rows, V]` logits and log-probabilities).
    static let headRows = 64
    private let layers: Int
    private let c: Int
    private let skipped: Set<SublayerID>
    private let head: ModelHead
    /// Rows per segment and their offsets in the concatenated feature rows.
    private let segmentRows: [Int]
    private let segmentOffsets: [Int]
    private let totalRows: Int
    /// Logit rows per segment (LM: one per token; classifier: one per sequence), their offsets, and width.
    private let outputRows: [Int]
    private let outputOffsets: [Int]
    private let width: Int
    /// Cached unpruned activations per segment: layer inputs (`[L]` = last hidden) and FFN tensors per
    /// layer (`ffnInput` only for post-norm layers, the only ones that read it).
    private var prefix: [[[Float]]] = []
    private var ffnOutput: [[[Float]]] = []
    private var ffnInput: [[[Float]]] = []
    private var ffnActivation: [[[Float]]] = []
    private var referenceLogits: [Float] = []
    private var distances: [ManifoldDistance] = []

    init(model source: any LayerSource, segments: [ModelInput], sampleRows: Int = 768, temperature: Double = 4,
         unresetHeadMask: Bool = false, seed: UInt64) throws {
        self.source = source; self.segments = segments; self.temperature = temperature; self.unresetHeadMask = unresetHeadMask
        let config = source.config, skipped = source.skippedSublayers
        self.config = config; self.skipped = skipped
        layers = config.numLayers
        c = config.hidden
        headCounts = source.headCounts; ffnWidths = source.ffnWidths
        let counts = segments.map { $0.batchSize * $0.seqLen }
        segmentRows = counts
        segmentOffsets = counts.indices.map { counts[..<$0].reduce(0, +) }
        totalRows = counts.reduce(0, +)
        let outputs = segments.map { config.isClassifier ? $0.batchSize : $0.batchSize * $0.seqLen }
        outputRows = outputs
        outputOffsets = outputs.indices.map { outputs[..<$0].reduce(0, +) }
        width = config.isClassifier ? config.numLabels : config.vocabSize

        // The unpruned forward, layer-major (each layer taken once), keeping what the units restart from.
        let options = ForwardOptions(skip: skipped, capture: [.ffnOutput, .ffnInput, .ffnActivation])
        var states = try segments.map { try ForwardState(config: config, input: $0, options: options) }
        let embeddings = try source.embeddingLayer()
        var x = zip(segments, states).map { embeddings.forward($0, state: $1) }
        prefix = x.map { [$0] }
        ffnOutput = segments.map { _ in [] }; ffnInput = ffnOutput; ffnActivation = ffnOutput
        for j in 0..<layers {
            let layer = try source.layer(at: j)
            for s in segments.indices {
                try layer.forward(&x[s], state: &states[s])
                prefix[s].append(x[s])
                let n = segmentRows[s]
                func take(_ p: CapturePoint, _ w: Int) -> [Float] {
                    states[s].takeCapture(CaptureKey(layer: j, point: p))?.values ?? [Float](repeating: 0, count: n * w)
                }
                ffnOutput[s].append(take(.ffnOutput, c))
                let input = take(.ffnInput, c)
                ffnInput[s].append(layer.placement == .post ? input : [])
                ffnActivation[s].append(take(.ffnActivation, layer.ffnWidth))
            }
        }
        head = try source.modelHead()
        for s in segments.indices {
            try x[s].withUnsafeBufferPointer { p in
                try forEachLogitChunk(segment: s, hidden: p.baseAddress!) { _, logits in referenceLogits += logits }
            }
        }
        // Feature rows (the reference draws K = 768 of the B·T rows; here one seeded draw per scoring run).
        var rng = SeededGenerator(seed: seed)
        var rows = Array(0..<totalRows)
        if rows.count > sampleRows { rows = Array(rows.shuffled(using: &rng).prefix(sampleRows)).sorted() }
        for l in 0..<layers {
            let concatenated = ffnOutput.flatMap { $0[l] }
            concatenated.withUnsafeBufferPointer { distances.append(ManifoldDistance(reference: $0.baseAddress!, rows: rows, width: c)) }
        }
    }

    var unitCount: Int { headCounts.reduce(0, +) + ffnWidths.reduce(0, +) }

    /// The independent work items in canonical order: each head alone, then each layer's neurons in
    /// batches of `neuronBatch` (a batch runs stacked, so it is one item: the same batches in every mode).
    func workItems(neuronBatch: Int) -> [[PrunableUnit]] {
        var items: [[PrunableUnit]] = []
        for l in 0..<layers { for h in 0..<headCounts[l] { items.append([PrunableUnit(.head, layer: l, index: h)]) } }
        for l in 0..<layers {
            let width = ffnWidths[l]
            for start in stride(from: 0, to: width, by: neuronBatch) {
                items.append((start..<min(start + neuronBatch, width)).map { PrunableUnit(.neuron, layer: l, index: $0) })
            }
        }
        return items
    }

    /// Terms of every unit in canonical order (heads of layer 0…L−1, then neurons of layer 0…L−1).
    /// Items already in `ledger` are taken from it; of the others, those in the ledger's slice are
    /// computed (in waves of at most `neuronBatch` copies per worker) and recorded in item order. Nil
    /// when some items belong to other slices (a shard's run).
    func score(neuronBatch: Int = 32, progress: ProgressReporter, ledger: WorkLedger = WorkLedger(),
               step: String = "optin") throws -> (units: [PrunableUnit], terms: [TrajectoryTerms])? {
        let items = workItems(neuronBatch: neuronBatch)
        progress.start("optin: trajectory scores of \(unitCount) heads and neurons", unitCount)
        defer { progress.finish() }
        var computed: [Int: [TrajectoryTerms]] = [:], wave: [Flight] = [], done = 0
        for (i, item) in items.enumerated() { if try ledger.item(step, i, as: [TrajectoryTerms].self) != nil { done += item.count } }
        func flush() throws {
            guard !wave.isEmpty else { return }
            for (f, terms) in zip(wave, try run(wave)) {
                try ledger.record(step, f.index, terms)
                computed[f.index] = terms
                done += terms.count
            }
            wave = []
            progress.update(done)
        }
        let capacity = max(neuronBatch, 1) * max(Threads.count, 1)
        for (i, item) in items.enumerated() where ledger.shouldCompute(step, i, of: items.count) {
            if wave.reduce(0, { $0 + $1.copies }) + item.count > capacity { try flush() }
            wave.append(Flight(index: i, units: item, layers: layers, unresetHeadMask: unresetHeadMask))
        }
        try flush()
        var units: [PrunableUnit] = [], terms: [TrajectoryTerms] = []
        for (i, item) in items.enumerated() {
            guard let result = try computed[i] ?? ledger.item(step, i, as: [TrajectoryTerms].self), result.count == item.count else { return nil }
            units += item; terms += result
        }
        return (units, terms)
    }

    // MARK: a wave of items, layer by layer

    /// One work item on its way through the layers: its copies (one per unit) stacked per segment.
    private final class Flight {
        let index: Int
        let units: [PrunableUnit]
        var layer: Int { units[0].layer }
        var isHead: Bool { units[0].kind == .head }
        var copies: Int { units.count }
        /// The first layer it runs: its own (a head; layer 0 under the unreset-mask quirk) or the next (neurons).
        let start: Int
        var states: [ForwardState] = []
        var hidden: [[Float]] = []
        /// Σ of the distance terms so far, per copy, in layer order.
        var md: [Double]
        var terms: [TrajectoryTerms] = []

        init(index: Int, units: [PrunableUnit], layers: Int, unresetHeadMask: Bool) {
            self.index = index; self.units = units
            let l = units[0].layer
            start = units[0].kind == .neuron ? l + 1 : (unresetHeadMask && l > 0 ? 0 : l)
            md = [Double](repeating: 0, count: units.count)
        }
    }

    /// Runs a wave: layers from the earliest one any item needs to the last, each taken from the
    /// source once; then the head and KL of every copy. The flights of a wave are independent and
    /// run concurrently, one per core (`Threads.count`), each with single-threaded BLAS: no hand-off
    /// between the sgemm threads and the elementwise kernels, and the cores never wait on each other
    /// inside a layer (docs/ARCHITECTURE.md "Layer-streamed pruning"; BENCHMARKS.md "OPTIN scoring speed").
    private func run(_ wave: [Flight]) throws -> [[TrajectoryTerms]] {
        let first = wave.map { min($0.start, $0.layer) }.min()!
        let threads = Threads.count, workers = min(threads, wave.count)
        if workers > 1 { Threads.set(1) }
        defer { if workers > 1 { Threads.set(threads) } }
        for j in first..<layers {
            let layer = try source.layer(at: j)
            try concurrently(wave, workers: workers) { f in
                if f.isHead && j == f.start { try startHead(f) }
                if !f.isHead && j == f.layer { try startNeurons(f, layer: layer) }
                guard j >= f.start else { return }
                for s in segments.indices { try layer.forward(&f.hidden[s], state: &f.states[s]) }
                // MD over layers k > l (plus k = l for the last layer), in layer order.
                try addDistance(f, layer: j, needed: j > f.layer || (j == f.layer && f.layer == layers - 1))
            }
        }
        try concurrently(wave, workers: workers) { f in
            f.terms = try (0..<f.copies).map { TrajectoryTerms(md: f.md[$0], kl: try kl(copy: $0, hidden: f.hidden)) }
        }
        return wave.map(\.terms)
    }

    /// `body` on every flight, `workers` at a time (each takes the next flight); the first error is rethrown.
    private func concurrently(_ flights: [Flight], workers: Int, _ body: (Flight) throws -> Void) throws {
        guard workers > 1 else { for f in flights { try body(f) }; return }
        let lock = NSLock()
        var next = 0, failure: Error?
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                lock.lock()
                let i = next; next += 1
                let stop = failure != nil
                lock.unlock()
                guard i < flights.count, !stop else { return }
                do { try body(flights[i]) } catch { lock.lock(); failure = failure ?? error; lock.unlock() }
            }
        }
        if let failure { throw failure }
    }

    /// Takes layer `j`'s FFN output of every copy from the states and, when `needed`, adds its distance.
    private func addDistance(_ f: Flight, layer j: Int, needed: Bool) throws {
        let g = f.copies
        var features = needed ? [Float](repeating: 0, count: g * totalRows * c) : []
        for s in segments.indices {
            guard let values = f.states[s].takeCapture(CaptureKey(layer: j, point: .ffnOutput))?.values, needed else { continue }
            let n = segmentRows[s], off = segmentOffsets[s]
            features.withUnsafeMutableBufferPointer { dst in
                values.withUnsafeBufferPointer { src in
                    for i in 0..<g { (dst.baseAddress! + (i * totalRows + off) * c).update(from: src.baseAddress! + i * n * c, count: n * c) }
                }
            }
        }
        guard needed else { return }
        features.withUnsafeBufferPointer { p in
            for i in 0..<g { f.md[i] += distances[j].distance(p.baseAddress! + i * totalRows * c) }
        }
    }

    private func stateOptions(headMask: [[Float]]?, from start: Int) -> ForwardOptions {
        ForwardOptions(headMask: headMask, skip: skipped, capture: [.ffnOutput], captureLayers: Set(start..<layers))
    }

    /// `g` copies of segment `s` stacked along the batch.
    private func stacked(_ s: Int, copies g: Int) -> ModelInput {
        let input = segments[s]
        return g == 1 ? input : ModelInput(tokens: Array(repeating: input.tokens, count: g).flatMap { $0 },
                                           tokenTypes: input.tokenTypes.map { Array(repeating: $0, count: g).flatMap { $0 } },
                                           attentionMask: input.attentionMask.map { Array(repeating: $0, count: g).flatMap { $0 } })
    }

    // MARK: heads

    private func startHead(_ f: Flight) throws {
        let l = f.layer
        var mask = headCounts.map { [Float](repeating: 1, count: $0) }
        mask[l][f.units[0].index] = 0
        if f.start < l {
            // Reference quirk: the mask is not reset between layers, so the last head of every
            // earlier layer stays masked while layer l is scored.
            for j in 0..<l { mask[j][mask[j].count - 1] = 0 }
        }
        let options = stateOptions(headMask: mask, from: f.start)
        f.states = try segments.map { try ForwardState(config: config, input: $0, options: options) }
        f.hidden = segments.indices.map { prefix[$0][f.start] }
    }

    // MARK: neurons

    /// Perturbed FFN output of layer l (exact, no recomputation) and the block outputs the later layers start from.
    private func startNeurons(_ f: Flight, layer: TransformerLayer) throws {
        let l = f.layer, neurons = f.units.map(\.index)
        guard let down = layer.down as? Linear else {
            throw PassError("optin", "layer \(l) FFN output projection is not a float Linear (quantized?); prune before quantizing")
        }
        let width = layer.ffnWidth, g = neurons.count
        let columns = neurons.map { unit in (0..<c).map { down.weight[$0 * width + unit] } }
        // F − a_n ⊗ w_n, copy-major over the concatenated segments.
        var ownFeatures = [Float](repeating: 0, count: g * totalRows * c)
        for s in segments.indices {
            let n = segmentRows[s], off = segmentOffsets[s]
            let ref = ffnOutput[s][l], act = ffnActivation[s][l]
            for (i, unit) in neurons.enumerated() {
                let column = columns[i]
                ownFeatures.withUnsafeMutableBufferPointer { out in
                    let base = out.baseAddress! + (i * totalRows + off) * c
                    for r in 0..<n {
                        let a = act[r * width + unit]
                        for j in 0..<c { base[r * c + j] = ref[r * c + j] - a * column[j] }
                    }
                }
            }
        }
        if l == layers - 1 {
            ownFeatures.withUnsafeBufferPointer { p in
                for i in 0..<g { f.md[i] += distances[l].distance(p.baseAddress! + i * totalRows * c) }
            }
        }
        // Block outputs of layer l for each copy: pre-norm x + F', post-norm LN2(h1 + F').
        let options = stateOptions(headMask: nil, from: l + 1)
        f.states = try segments.indices.map { try ForwardState(config: config, input: stacked($0, copies: g), options: options) }
        f.hidden = segments.indices.map { s in
            let n = segmentRows[s], off = segmentOffsets[s]
            var hidden = [Float](repeating: 0, count: g * n * c)
            let residual = layer.placement == .pre ? zip(prefix[s][l + 1], ffnOutput[s][l]).map { $0 - $1 } : ffnInput[s][l]
            for i in 0..<g {
                let src = (i * totalRows + off) * c
                for r in 0..<(n * c) { hidden[i * n * c + r] = residual[r] + ownFeatures[src + r] }
            }
            if layer.placement == .post {
                let sum = hidden
                sum.withUnsafeBufferPointer { sp in hidden.withUnsafeMutableBufferPointer { hp in
                    layer.norm2.forward(hp.baseAddress!, sp.baseAddress!, rows: g * n)
                } }
            }
            return hidden
        }
    }

    // MARK: head and KL

    /// The logits of one copy of segment `s` from its last hidden rows `[n_s, C]`, handed to `body`
    /// with the index of their first row within the segment's output: an LM `headRows` rows at a
    /// time (final norm + LM head are per row), a classifier all at once (one row per sequence).
    private func forEachLogitChunk(segment s: Int, hidden: UnsafePointer<Float>, _ body: (Int, [Float]) throws -> Void) throws {
        let n = segmentRows[s]
        guard config.isCausalLM, let lmHead = head.lmHead else {
            let state = try ForwardState(config: config, input: segments[s], options: ForwardOptions(skip: skipped))
            try body(0, try head.finish(Array(UnsafeBufferPointer(start: hidden, count: n * c)), state: state, config: config, computeHead: true).logits)
            return
        }
        for first in stride(from: 0, to: n, by: Self.headRows) {
            let k = min(Self.headRows, n - first)
            var h = Array(UnsafeBufferPointer(start: hidden + first * c, count: k * c))
            if let norm = head.finalNorm { h.withUnsafeMutableBufferPointer { norm.forward($0.baseAddress!, $0.baseAddress!, rows: k) } }
            try body(first, lmHead(h, rows: k))
        }
    }

    /// T²·Σ over output rows of KL(softmax(ref) ‖ softmax(pruned)) for copy `i` (classifier: one row
    /// per example; LM: per token), summed in row order chunk by chunk.
    private func kl(copy i: Int, hidden: [[Float]]) throws -> Double {
        var sum = 0.0
        for s in segments.indices {
            let n = segmentRows[s]
            try hidden[s].withUnsafeBufferPointer { p in
                try forEachLogitChunk(segment: s, hidden: p.baseAddress! + i * n * c) { first, logits in
                    let rows = logits.count / width, start = (outputOffsets[s] + first) * width
                    let lp = logSoftmaxRows(Array(referenceLogits[start..<(start + rows * width)]), rows: rows, vocab: width)
                    let lq = logSoftmaxRows(logits, rows: rows, vocab: width)
                    for j in lp.indices { sum += exp(lp[j]) * (lp[j] - lq[j]) }
                }
            }
        }
        return max(0, temperature * temperature * sum)
    }
}
