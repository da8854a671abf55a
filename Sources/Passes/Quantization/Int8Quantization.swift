import Foundation
import Checkpoints
import Kernels
import Models
import Tensors

/// Pass `int8`: symmetric per-channel int8 weights written in the compressed-tensors `int-quantized`
/// layout with the W8A8 config (dynamic per-token int8 activations) that transformers and vLLM load
/// (DESIGN.md §4). With `scheme: "static"` it also calibrates per-tensor activation ranges at every
/// linear input (`observer`: minmax with momentum, percentile, or mse; ALGORITHMS.md §3.5) and reports
/// how far static W8A8 moves the model's outputs — a measure of quantization-friendliness; the
/// checkpoint keeps the dynamic-activation config that stock loaders run.
public struct Int8Quantization: Pass, Equatable {
    public static let kind = "int8"
    public static let category = PassCategory.quantization
    public enum Scheme: String, Codable, Sendable, CaseIterable { case dynamic, `static` }

    public var scheme: Scheme = .dynamic
    public var observer: ActivationObserverKind = .minmax
    public var targets: [String] = TensorTargets.defaultTargets
    public var ignore: [String] = []

    enum CodingKeys: String, CodingKey, CaseIterable { case scheme, observer, targets, ignore }

    public init(scheme: Scheme = .dynamic, observer: ActivationObserverKind = .minmax,
                targets: [String] = TensorTargets.defaultTargets, ignore: [String] = []) {
        self.scheme = scheme; self.observer = observer; self.targets = targets; self.ignore = ignore
    }

    public init(from decoder: Decoder) throws {
        try StrictKeys.reject(unknownIn: decoder, allowed: ["pass"] + CodingKeys.allKeys)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scheme = try c.decodeIfPresent(Scheme.self, forKey: .scheme) ?? .dynamic
        observer = try c.decodeIfPresent(ActivationObserverKind.self, forKey: .observer) ?? .minmax
        targets = try c.decodeIfPresent([String].self, forKey: .targets) ?? TensorTargets.defaultTargets
        ignore = try c.decodeIfPresent([String].self, forKey: .ignore) ?? []
    }

    public var needs: PassNeeds { scheme == .static ? .calibration : [] }
    var selector: TensorTargets { TensorTargets(targets: targets, ignore: ignore) }

    public func validate(path: String) throws { try selector.validate(path: path) }

    public func apply(to model: EditableCheckpoint, context: PassContext) throws -> PassReport {
        try validate(path: Self.kind)
        let selected = selector.selected(in: model)
        guard !selected.isEmpty else { throw PassError(Self.kind, "no weights match targets \(targets) (ignore \(ignore))") }
        var notes: [String] = []
        var metrics: [String: Double] = [:]
        var series: [PassReport.Series] = []
        if scheme == .static {
            guard !context.calibration.isEmpty else {
                throw PassError("\(Self.kind).scheme", "\"static\" needs calibration data (recipe \"calibration\")")
            }
            let probe = try StaticW8A8Probe(observer: observer).run(model: TransformerModel.load(from: model),
                                                                   calibration: context.calibration)
            metrics["static_w8a8_logits_relative_error"] = probe.logitsRelativeError
            metrics["static_w8a8_argmax_agreement"] = probe.argmaxAgreement
            let keys = probe.ranges.keys.sorted { ($0.layer, $0.point.rawValue) < ($1.layer, $1.point.rawValue) }
            series.append(.init(title: "Calibrated activation range (max − min) at linear inputs", xLabel: "layer.point",
                                yLabel: "range", labels: keys.map { "\($0.layer).\($0.point.rawValue)" },
                                values: keys.map { Double((probe.ranges[$0]!.max ?? 0) - (probe.ranges[$0]!.min ?? 0)) }))
            notes.append("static W8A8 (\(observer.rawValue) observer, \(context.calibration.count) calibration batches): logits move by "
                         + String(format: "%.4f", probe.logitsRelativeError) + " relative, argmax agreement "
                         + String(format: "%.4f", probe.argmaxAgreement) + "; the checkpoint keeps dynamic per-token activations")
        }
        var changes: [PassReport.TensorChange] = []
        let cache = Int8StreamCache()
        context.progress.start("int8: quantizing \(selected.count) weights", selected.count)
        for (k, spec) in selected.enumerated() {
            let source = try model.tensor(spec.name)
            let (q, scale, scaleDType) = Int8Layout.quantize(source)
            var restored = [Float](repeating: 0, count: q.count)
            int8DequantizeRows(output: &restored, q: q, scale: scale, rows: spec.shape[0], cols: spec.shape[1])
            changes.append(.init(name: spec.name, before: "\(spec.dtype) \(spec.shape)", after: "I8 per-channel (+\(scaleDType) scale)",
                                 bitsPerWeight: 8 + Double(scaleDType.byteSize * 8) / Double(spec.shape[1]),
                                 relativeError: relativeError(source, restored)))
            let pending: Tensor? = model.changedNames.contains(spec.name) ? source : nil
            let store = model.source, name = spec.name
            let produce: (String) throws -> Tensor = { part in
                try cache.tensors(for: name) {
                    let t = try pending ?? store.tensor(name)
                    let (q, s, d) = Int8Layout.quantize(t)
                    return Int8Layout.tensors(weight: name, q: q, scale: s, scaleDType: d, shape: t.shape)
                }[part]!
            }
            for (part, t) in Int8Layout.tensors(weight: name, q: q, scale: scale, scaleDType: scaleDType, shape: spec.shape) {
                model.setLazy(TensorSpec(name: part, dtype: t.dtype, shape: t.shape)) { try produce(part) }
            }
            releasePages(of: spec.name, in: model)
            context.progress.update(k + 1)
        }
        context.progress.finish()
        // compressed-tensors targets every nn.Linear, so each one we keep in float is listed; lm_head is
        // listed even when tied (absent from the file) — else the loader expects its weight_scale.
        var skipped = selector.skippedModules(in: model).filter { !TensorTargets.isEmbedding($0) }
        if !skipped.contains(where: { $0.hasSuffix("lm_head") }) { skipped.append("lm_head") }
        model.config["quantization_config"] = Int8Layout.quantizationConfig(ignore: skipped)
        let errors = changes.compactMap(\.relativeError)
        let params = selected.reduce(0) { $0 + $1.shape.reduce(1, *) }
        metrics["quantized_weights"] = Double(changes.count)
        metrics["quantized_parameters"] = Double(params)
        metrics["mean_relative_error"] = errors.reduce(0, +) / Double(max(errors.count, 1))
        metrics["max_relative_error"] = errors.max() ?? 0
        series.insert(.init(title: "int8 relative reconstruction error", xLabel: "weight", yLabel: "‖W − Ŵ‖ / ‖W‖",
                            labels: changes.map(\.name), values: errors), at: 0)
        return PassReport(kind: Self.kind,
                          summary: "int8 W8A8 (\(scheme.rawValue)) on \(changes.count) weights, mean relative error "
                              + String(format: "%.4f", metrics["mean_relative_error"]!),
                          metrics: metrics, tensors: changes, series: series, notes: notes)
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
