import Foundation
import Checkpoints
import Kernels
import Models
import Tensors

/// Pass `int8`: int8 weights written in the compressed-tensors `int-quantized` layout that transformers
/// and vLLM load (DESIGN.md §4), in one of two schemes:
///   * `dynamic` (default): symmetric per-channel weights, dynamic per-token int8 activations (preset W8A8);
///   * `static` (ALGORITHMS.md §3.5): symmetric per-tensor weights with the MSE-grid range, and static
///     asymmetric per-tensor activations at every quantized linear's input, calibrated by a running
///     observer (`observer`: minmax with momentum 0.9, percentile, or mse) — written as `input_scale` /
///     `input_zero_point`. The report also gives §3.5's full-site simulation (scores, probabilities,
///     residual stream, ...), which no checkpoint format expresses (`StaticW8A8Probe`).
/// Dynamic codes come from `int8QuantizeRows` (via `Int8Layout.quantize`), the definition `Quantizer.int8(.row)`
/// fake-quantizes with, so a weight trained under that quantizer is the weight written here.
public struct Int8Quantization: Pass, Equatable {
    public static let kind = "int8"
    public static let category = PassCategory.quantization
    public enum Scheme: String, Codable, Sendable, CaseIterable { case dynamic, `static` }

    public var scheme: Scheme = .dynamic
    public var observer: ActivationObserverKind = .minmax
    public var targets: [String] = TensorTargets.defaultTargets
    public var ignore: [String] = []
    /// static: the last N calibration windows are evaluated only (held out from range estimation).
    public var evaluationSamples: Int = 0
    /// static: the weights' per-tensor range, MSE grid (§3.5) or max |w|.
    public var weightRange: WeightRangeKind = .mse

    enum CodingKeys: String, CodingKey, CaseIterable {
        case scheme, observer, targets, ignore
        case evaluationSamples = "evaluation_samples", weightRange = "weight_range"
    }

    public init() {}

    public init(scheme: Scheme = defaults.scheme, observer: ActivationObserverKind = defaults.observer,
                targets: [String] = defaults.targets, ignore: [String] = defaults.ignore) {
        self.scheme = scheme; self.observer = observer; self.targets = targets; self.ignore = ignore
    }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.passKeys(CodingKeys.self)
        try c.update(&scheme, .scheme)
        try c.update(&observer, .observer)
        try c.update(&targets, .targets)
        try c.update(&ignore, .ignore)
        try c.update(&evaluationSamples, .evaluationSamples)
        try c.update(&weightRange, .weightRange)
    }

    public var needs: PassNeeds { scheme == .static ? .calibration : [] }
    /// The static scheme's calibration windows are work items (sharded, resumed).
    public var splitsIntoWorkItems: Bool { scheme == .static }
    var selector: TensorTargets { TensorTargets(targets: targets, ignore: ignore) }

    public func validate(path: String) throws {
        try selector.validate(path: path)
        if evaluationSamples < 0 { throw PassError("\(path).evaluation_samples", "must be ≥ 0, found \(evaluationSamples)") }
        if evaluationSamples > 0 && scheme != .static {
            throw PassError("\(path).evaluation_samples", "only the \"static\" scheme evaluates on calibration windows")
        }
        if weightRange != .mse && scheme != .static {
            throw PassError("\(path).weight_range", "only the \"static\" scheme has per-tensor weight ranges (dynamic uses per-channel max |w|)")
        }
    }

    public func apply(to model: EditableCheckpoint, context: PassContext) throws -> PassReport {
        try validate(path: Self.kind)
        let untied = try selector.untieTargetedHead(in: model, pass: Self.kind)
        let selected = selector.selected(in: model)
        guard !selected.isEmpty else { throw PassError(Self.kind, "no weights match targets \(targets) (ignore \(ignore))") }
        try refuseConv1D(selected, config: model.config)
        var notes: [String] = []
        if let untied {
            notes.append("\(untied) untied from the token table and quantized (tie_word_embeddings is now false): "
                         + "the logits use the int8 head, the embedding lookup the unchanged table")
        }
        var metrics: [String: Double] = [:]
        var series: [PassReport.Series] = []
        // static: calibrate, measure, and take each selected weight's α and its input's range from the probe
        var staticPlan: [String: (alpha: Float, input: AsymmetricUInt8Params)] = [:]
        if scheme == .static {
            guard !context.calibration.isEmpty else {
                throw PassError("\(Self.kind).scheme", "\"static\" needs calibration data (recipe \"calibration\")")
            }
            let float = try TransformerModel.load(from: model)
            let sites = try Self.linearSites(of: selected.map(\.name), family: float.config.family, layers: float.layers.count, store: model)
            let probe = try StaticW8A8Probe(observer: observer, weightRange: weightRange, weights: Set(sites.values), heldOut: evaluationSamples)
                .run(model: float, calibration: context.calibration, ledger: context.ledger, step: context.step)
            for (name, site) in sites {
                let key = CaptureKey(layer: site.layer, point: StaticW8A8Probe.inputPoint(site.role))
                guard let alpha = probe.alphas[site], let input = probe.ranges[key]?.params else {
                    throw PassError(Self.kind, "\(name): no calibrated input range (the block never reached \(key.point.rawValue) of layer \(key.layer))")
                }
                staticPlan[name] = (alpha, input)
            }
            Self.record(probe, observer: observer, weightRange: weightRange, into: &metrics, series: &series, notes: &notes)
        }
        try noteStockLoaders(model, examples: context.calibration, into: &metrics, notes: &notes)
        var changes: [PassReport.TensorChange] = []
        var measure: [String: () throws -> Void] = [:]
        let cache = Int8StreamCache(), errors = ErrorLedger()
        context.progress.start("int8: planning \(selected.count) weights", selected.count)
        for (k, spec) in selected.enumerated() {
            // The layout follows from shape and dtype; each weight is quantized once, when the writer
            // asks for it, and its reconstruction error recorded then.
            let scaleDType: DType = spec.dtype == .BF16 || spec.dtype == .F16 ? spec.dtype : .F32
            let plan = staticPlan[spec.name]
            changes.append(.init(name: spec.name, before: "\(spec.dtype) \(spec.shape)",
                                 after: plan == nil ? "I8 per-channel (+\(scaleDType) scale)" : "I8 per-tensor (\(weightRange.rawValue) range) + static input scale/zero point",
                                 bitsPerWeight: 8 + (plan == nil ? Double(scaleDType.byteSize * 8) / Double(spec.shape[1]) : 0)))
            let pending: Tensor? = model.changedNames.contains(spec.name) ? try model.tensor(spec.name) : nil
            let store = model.source, name = spec.name
            let produce = {
                try cache.tensors(for: name) {
                    let t = try pending ?? store.tensor(name)
                    defer { if pending == nil { releasePages(of: name, in: store) } }
                    if let plan {
                        let (q, s, d) = Int8Layout.quantizePerTensor(t, alpha: plan.alpha)
                        let scales = [Float](repeating: s, count: t.shape[0])
                        errors.record(name, int8RelativeError(t, q: q, scale: scales))
                        return Int8Layout.tensors(weight: name, q: q, scale: [s], scaleDType: d, shape: t.shape)
                            .merging(Int8Layout.inputTensors(weight: name, plan.input, scaleDType: d)) { a, _ in a }
                    }
                    let (q, s, d) = Int8Layout.quantize(t)
                    errors.record(name, int8RelativeError(t, q: q, scale: s))
                    return Int8Layout.tensors(weight: name, q: q, scale: s, scaleDType: d, shape: t.shape)
                }
            }
            var parts = [TensorSpec(name: name, dtype: .I8, shape: spec.shape),
                         TensorSpec(name: Int8Layout.scaleName(weight: name), dtype: scaleDType, shape: plan == nil ? [spec.shape[0], 1] : [1])]
            if plan != nil {
                parts += [TensorSpec(name: Int8Layout.inputScaleName(weight: name), dtype: scaleDType, shape: [1]),
                          TensorSpec(name: Int8Layout.inputZeroPointName(weight: name), dtype: .I8, shape: [1])]
            }
            for part in parts {
                model.setLazy(part) {
                    guard let t = try produce()[part.name], t.dtype == part.dtype, t.shape == part.shape else {
                        throw PassError(Self.kind, "\(part.name) came out unlike its plan \(part.dtype) \(part.shape) (a bug: please report it)")
                    }
                    return t
                }
            }
            measure[name] = { _ = try produce() }
            context.progress.update(k + 1)
        }
        context.progress.finish()
        // compressed-tensors targets every nn.Linear, so each one we keep in float is listed; lm_head is
        // listed even when tied (absent from the file) — else the loader expects its weight_scale.
        var skipped = selector.skippedModules(in: model).filter { !TensorTargets.isEmbedding($0) }
        let headQuantized = selected.contains { $0.name.hasSuffix("lm_head.weight") }
        if !headQuantized && !skipped.contains(where: { $0.hasSuffix("lm_head") }) { skipped.append("lm_head") }
        model.config["quantization_config"] = Int8Layout.quantizationConfig(ignore: skipped, static: scheme == .static)
        let params = selected.reduce(0) { $0 + $1.shape.reduce(1, *) }
        metrics["quantized_weights"] = Double(changes.count)
        metrics["quantized_parameters"] = Double(params)
        var report = PassReport(kind: Self.kind,
                                summary: "int8 W8A8 (\(scheme.rawValue)) on \(changes.count) weights, relative error measured while writing",
                                metrics: metrics, tensors: changes, series: series, notes: notes)
        let scheme = self.scheme
        report.pending = PendingReport { pending in
            var done = pending
            for i in done.tensors.indices where done.tensors[i].relativeError == nil {
                let name = done.tensors[i].name
                if errors.error(name) == nil { try measure[name]!() }   // not written (yet): quantize it now
                done.tensors[i].relativeError = errors.error(name)
            }
            let values = done.tensors.compactMap(\.relativeError)
            done.metrics["mean_relative_error"] = values.reduce(0, +) / Double(max(values.count, 1))
            done.metrics["max_relative_error"] = values.max() ?? 0
            done.series.insert(.init(title: "int8 relative reconstruction error", xLabel: "weight", yLabel: "‖W − Ŵ‖ / ‖W‖",
                                     labels: done.tensors.map(\.name), values: values), at: 0)
            done.summary = "int8 W8A8 (\(scheme.rawValue)) on \(done.tensors.count) weights, mean relative error "
                + String(format: "%.4f", done.metrics["mean_relative_error"]!)
            return done
        }
        return report
    }
}

/// The int8 tensors of the most recently quantized weight (the writer asks for `W` and `W_scale` in turn).
final class Int8StreamCache: @unchecked Sendable {
    private var name: String?
    private var tensors: [String: Tensor] = [:]
    private let lock = NSLock()

    func tensors(for weight: String, make: () throws -> [String: Tensor]) throws -> [String: Tensor] {
        lock.lock(); defer { lock.unlock() }
        if name != weight { tensors = [:]; tensors = try make(); name = weight }
        return tensors
    }
}

extension Int8Quantization {
    /// compressed-tensors quantizes `nn.Linear` modules only: a GPT-2 Conv1D weight written as int8
    /// would load in transformers but not run, so it is refused here (and in `--dry-run`).
    func refuseConv1D(_ selected: [TensorSpec], config: [String: Any]) throws {
        if let conv = selected.first(where: { Conv1DWeights.contains($0.name, config: config) }) {
            throw PassError(Self.kind, "\(conv.name) is a GPT-2 Conv1D weight: compressed-tensors quantizes nn.Linear modules only, "
                            + "so transformers could not run it quantized (use nf4 for GPT-2, or list the Conv1D modules in \"ignore\")")
        }
    }
}
