import Models

/// FLOPs of OPTIN trajectory scoring (`TrajectoryScorer`), counted per work item: a head runs its
/// own layer and the later ones (one copy), a neuron batch runs the later layers (one copy per
/// neuron); per layer and sequence of t tokens the linears (2·t·in·out each) and attention
/// (2·2·H·t²·d_h), per needed layer the Gram matrix of the K sampled feature rows (2·K²·C), per copy
/// the head. The unpruned calibration forward is counted once.
struct OptinScoringCost {
    let config: ModelConfig
    let lengths: [(batch: Int, seqLen: Int)]
    let heads: [Int], kvHeads: [Int], widths: [Int]
    let gated: Bool
    let skipped: Set<SublayerID>
    let gramRows: Int
    let unresetHeadMask: Bool

    init(_ source: any LayerSource, segments: [ModelInput], sampleRows: Int, unresetHeadMask: Bool) throws {
        config = source.config
        lengths = segments.map { ($0.batchSize, $0.seqLen) }
        heads = source.headCounts; kvHeads = source.kvHeadCounts; widths = source.ffnWidths
        gated = try source.layer(at: 0).gate != nil
        skipped = source.skippedSublayers
        gramRows = min(sampleRows, segments.reduce(0) { $0 + $1.batchSize * $1.seqLen })
        self.unresetHeadMask = unresetHeadMask
    }

    /// One copy of the calibration set through layer `j`.
    func layer(_ j: Int) -> Double {
        let c = Double(config.hidden), hd = Double(config.headDim), h = Double(heads[j]), kv = Double(kvHeads[j]), f = Double(widths[j])
        var total = 0.0
        for (b, t) in lengths {
            let rows = Double(b * t)
            if !skipped.contains(SublayerID(layer: j, kind: .attention)) {
                total += 2 * rows * (c * h * hd + 2 * c * kv * hd + h * hd * c) + 4 * Double(b) * h * Double(t * t) * hd
            }
            if !skipped.contains(SublayerID(layer: j, kind: .mlp)) { total += 2 * rows * (gated ? 3 : 2) * c * f }
        }
        return total
    }

    /// One copy through the head (classifier: pooler + classifier on one row per sequence; LM: every row).
    var head: Double {
        let c = Double(config.hidden)
        return lengths.reduce(0.0) { sum, s in
            sum + (config.isClassifier ? 2 * Double(s.batch) * (c * c + c * Double(config.numLabels))
                                       : 2 * Double(s.batch * s.seqLen) * c * Double(config.vocabSize))
        }
    }

    var gram: Double { 2 * Double(gramRows * gramRows) * Double(config.hidden) }

    /// The total (independent of `neuron_batch` and of the workers: they change how copies are stacked, not the work).
    var flops: Double {
        let layers = config.numLayers
        let perLayer = (0..<layers).map(layer)
        func suffix(_ from: Int) -> Double { perLayer[from...].reduce(0, +) }
        var total = suffix(0) + head + Double(layers) * gram          // unpruned forward, reference Grams
        for l in 0..<layers {
            // MD over k > l (and k = l in the last layer).
            let grams = Double(max(layers - 1 - l, l == layers - 1 ? 1 : 0)) * gram
            let start = unresetHeadMask && l > 0 ? 0 : l
            total += Double(heads[l]) * (suffix(start) + grams + head)
            total += Double(widths[l]) * ((l + 1 < layers ? suffix(l + 1) : 0) + grams + head)
        }
        return total
    }
}
