import Foundation
import Datasets
import Kernels
import Models

/// The clipping range of a symmetric per-tensor weight (ALGORITHMS.md §3.5: the reference forces the
/// MSE grid; on SmolLM2 it clips the few huge `down_proj` weights 3–4×, so max |w| is offered too).
public enum WeightRangeKind: String, Codable, Sendable, CaseIterable {
    case mse, absmax

    public func alpha(_ w: [Float]) -> Float {
        switch self {
        case .mse: return StaticQuantizers.mseSymmetricAlpha(w)
        case .absmax: return w.reduce(0) { Swift.max($0, abs($1)) }
        }
    }
}

/// Static W8A8 as a measurement (ALGORITHMS.md §3.5): calibrate per-tensor activation ranges over the
/// calibration batches, then run the model with weights fake-quantized (symmetric per tensor, MSE grid
/// range) and activations fake-quantized (asymmetric per tensor, static) at two site sets, and compare
/// with the float model:
///   * `checkpoint` — linear inputs only: what the written compressed-tensors checkpoint expresses
///     (`input_activations`), so what transformers and our runtime compute from it;
///   * `full` — §3.5's set as far as the block has sites: embeddings, linear inputs (norm outputs,
///     context, FFN activation), linear outputs (q, k, v, o, gate/fc1, down), attention scores
///     (finite entries; masked −∞ stay −∞), probabilities, block outputs (the residual stream).
///     Not quantized (no site): the residual sum inside a block, `up_proj`'s own output, the final norm
///     output and norm weights; the LM head stays float (the OPT scripts' `fp32_head`).
/// A model whose outputs move little is "quantization-friendly".
public struct StaticW8A8Probe {
    /// Linear inputs: q/k/v input, o input, gate/up input, down input.
    public static let points: [CapturePoint] = [.attentionInput, .attentionContext, .ffnInput, .ffnActivation]
    /// §3.5's activations, as block sites.
    public static let fullPoints: [CapturePoint] = [.embeddings, .attentionInput, .query, .key, .value, .scores, .probabilities,
                                                    .attentionContext, .attentionOutput, .ffnInput, .ffnPreActivation,
                                                    .ffnActivation, .ffnOutput, .blockOutput]

    /// The site whose values enter a projection of this role.
    public static func inputPoint(_ role: LinearRole) -> CapturePoint {
        switch role {
        case .q, .k, .v: return .attentionInput
        case .o: return .attentionContext
        case .gate, .up: return .ffnInput
        case .down: return .ffnActivation
        }
    }

    /// One evaluation of the fake-quantized model against the float one.
    public struct Evaluation: Equatable {
        /// ‖logits_q − logits‖ / ‖logits‖.
        public var logitsRelativeError: Double
        /// Fraction of positions (LM) or examples (classifier) whose argmax is unchanged.
        public var argmaxAgreement: Double
        /// Causal LMs: next-token perplexity of the float and the W8A8 model (nil otherwise).
        public var floatPerplexity: Double? = nil
        public var quantizedPerplexity: Double? = nil
    }

    public struct Result {
        /// Calibrated ranges at every `fullPoints` site (the linear inputs among them).
        public var ranges: [CaptureKey: RangeObserver]
        /// Weight clipping range α (MSE grid) per quantized projection.
        public var alphas: [LinearSite: Float]
        public var checkpoint: Evaluation
        public var full: Evaluation
        /// Windows the ranges were estimated on, and windows evaluated (disjoint when `heldOut` > 0).
        public var calibrationWindows: Int
        public var evaluationWindows: Int

        // The checkpoint's numbers under their historical names.
        public var logitsRelativeError: Double { checkpoint.logitsRelativeError }
        public var argmaxAgreement: Double { checkpoint.argmaxAgreement }
        public var floatPerplexity: Double? { checkpoint.floatPerplexity }
        public var quantizedPerplexity: Double? { checkpoint.quantizedPerplexity }
    }

    /// Summed next-token negative log-likelihood of `logits [T, V]` for `ids`, and the count.
    public static func nextTokenNLL(_ logits: [Float], ids: [Int32]) -> (Double, Int) {
        let v = logits.count / max(ids.count, 1)
        var nll = 0.0
        for t in 0..<max(ids.count - 1, 0) {
            let row = logits[(t * v)..<((t + 1) * v)]
            let m = Double(row.max()!)
            let lse = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
            nll += lse - Double(row[row.startIndex + Int(ids[t + 1])])
        }
        return (nll, max(ids.count - 1, 0))
    }

    public let observer: ActivationObserverKind
    /// How each weight's clipping range α is chosen.
    public let weightRange: WeightRangeKind
    /// Projections whose weights are quantized (nil: every block projection).
    public let weights: Set<LinearSite>?
    /// The last `heldOut` calibration windows are only evaluated, never observed (0: evaluate in-sample).
    public let heldOut: Int

    public init(observer: ActivationObserverKind, weightRange: WeightRangeKind = .mse, weights: Set<LinearSite>? = nil, heldOut: Int = 0) {
        self.observer = observer; self.weightRange = weightRange; self.weights = weights; self.heldOut = heldOut
    }

    static func input(_ e: Example) -> ModelInput {
        ModelInput(tokens: [e.ids.map(Int.init)], tokenTypes: e.tokenTypes.map { [$0.map(Int.init)] })
    }

    /// Fake quantization of the finite values with calibrated parameters (−∞ mask entries pass).
    static func fakeQuant(_ p: AsymmetricUInt8Params) -> SiteTransform {
        SiteTransform.straightThrough { buffer, _ in
            for i in buffer.indices where buffer[i].isFinite { buffer[i] = p.fakeQuantize(buffer[i]) }
        }
    }

    /// One calibration window's batch ranges at every captured site: a work item (docs/PRODUCTION.md).
    public struct BatchRanges: Codable, Equatable {
        public var layer: [Int]
        public var point: [CapturePoint]
        public var min: [Float]
        public var max: [Float]
    }

    /// The batch ranges of window `e` (sites in (layer, point) order).
    func batchRanges(_ model: TransformerModel, _ e: Example) throws -> BatchRanges {
        let out = try model.forward(Self.input(e), options: ForwardOptions(capture: Set(Self.fullPoints), computeHead: false))
        let template = RangeObserver(kind: observer)
        var r = BatchRanges(layer: [], point: [], min: [], max: [])
        for (key, act) in out.captures.sorted(by: { ($0.key.layer, $0.key.point.rawValue) < ($1.key.layer, $1.key.point.rawValue) }) {
            let (lo, hi) = template.batchRange(act.values.filter(\.isFinite))
            r.layer.append(key.layer); r.point.append(key.point); r.min.append(lo); r.max.append(hi)
        }
        return r
    }

    /// Runs the probe. Step 1's windows are work items of `step` in `ledger`: each window's batch
    /// ranges are computed once (by this slice, or taken from saved progress / other shards), then the
    /// running observers fold them in window order, so a resumed or merged run is the single run exactly.
    public func run(model: TransformerModel, calibration: [Example], ledger: WorkLedger = WorkLedger(), step: String = "int8") throws -> Result {
        guard heldOut >= 0, heldOut < calibration.count else {
            throw PassError("int8.evaluation_samples", "\(heldOut) held-out windows leave none of the \(calibration.count) calibration windows to estimate ranges on")
        }
        let observed = calibration.count - heldOut
        let evaluated = heldOut > 0 ? Array(calibration[observed...]) : calibration
        // 1. Calibrate ranges on the float model, one example per batch (the running observer's batch).
        var windows: [BatchRanges?] = []
        for (i, e) in calibration[..<observed].enumerated() {
            var r = try ledger.item(step, i, as: BatchRanges.self)
            if r == nil, ledger.shouldCompute(step, i, of: observed) {
                r = try batchRanges(model, e)
                try ledger.record(step, i, r!)
            }
            windows.append(r)
        }
        guard windows.allSatisfy({ $0 != nil }) else { throw SliceComplete(step: step) }
        var ranges: [CaptureKey: RangeObserver] = [:]
        for w in windows.map({ $0! }) {
            for j in w.layer.indices {
                ranges[CaptureKey(layer: w.layer[j], point: w.point[j]), default: RangeObserver(kind: observer)].observe(min: w.min[j], max: w.max[j])
            }
        }
        // 2. Weight ranges per tensor: MSE grid search (§3.5) or max |w|.
        var alphas: [LinearSite: Float] = [:]
        for layer in model.layers {
            for (role, linear) in layer.linears {
                let site = LinearSite(layer: layer.index, role: role)
                guard weights?.contains(site) ?? true, let linear = linear as? Linear else { continue }
                alphas[site] = weightRange.alpha(linear.weight)
            }
        }
        let scales = alphas.mapValues { int8SymmetricScale(absmax: $0) }
        let weightTransform: (LinearSite) -> SiteTransform? = { site in
            scales[site].map { s in SiteTransform.straightThrough { w, _ in for i in w.indices { w[i] = int8FakeQuantize(w[i], scale: s) } } }
        }
        let params = ranges.compactMapValues(\.params)
        func hook(_ points: [CapturePoint]) -> SiteHook {
            SiteHook(Set(points), .transform { key in params[key].map(Self.fakeQuant) })
        }
        // 3. Evaluate float, checkpoint-scheme and full-site W8A8 on the evaluation windows.
        var sums = [Sums(), Sums()]
        for e in evaluated {
            let ref = try model.forward(Self.input(e)).logits
            for (k, points) in [Self.points, Self.fullPoints].enumerated() {
                let options = ForwardOptions(hooks: [hook(points)], weightTransform: weightTransform)
                let out = try model.forward(Self.input(e), options: options)
                sums[k].add(reference: ref, quantized: out.logits, width: out.shape.last ?? 1,
                            ids: model.config.isCausalLM ? e.ids : nil)
            }
        }
        return Result(ranges: ranges, alphas: alphas, checkpoint: sums[0].evaluation, full: sums[1].evaluation,
                      calibrationWindows: observed, evaluationWindows: evaluated.count)
    }

    /// Running sums of one comparison.
    struct Sums {
        var num = 0.0, den = 0.0, agree = 0, total = 0, nllFloat = 0.0, nllQuant = 0.0, tokens = 0

        mutating func add(reference ref: [Float], quantized q: [Float], width: Int, ids: [Int32]?) {
            for i in ref.indices {
                let d = Double(q[i] - ref[i]); num += d * d; den += Double(ref[i]) * Double(ref[i])
            }
            if let ids {
                let f = StaticW8A8Probe.nextTokenNLL(ref, ids: ids), g = StaticW8A8Probe.nextTokenNLL(q, ids: ids)
                nllFloat += f.0; nllQuant += g.0; tokens += f.1
            }
            for row in stride(from: 0, to: ref.count, by: width) {
                let a = ref[row..<(row + width)].indices.max { ref[$0] < ref[$1] }
                let b = q[row..<(row + width)].indices.max { q[$0] < q[$1] }
                agree += a == b ? 1 : 0; total += 1
            }
        }

        var evaluation: Evaluation {
            Evaluation(logitsRelativeError: den == 0 ? 0 : (num / den).squareRoot(),
                       argmaxAgreement: total == 0 ? 1 : Double(agree) / Double(total),
                       floatPerplexity: tokens > 0 ? exp(nllFloat / Double(tokens)) : nil,
                       quantizedPerplexity: tokens > 0 ? exp(nllQuant / Double(tokens)) : nil)
        }
    }
}
