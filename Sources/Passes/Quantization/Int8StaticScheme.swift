import Foundation
import Checkpoints
import Datasets
import Models

/// The static scheme of the `int8` pass (ALGORITHMS.md §3.5): which projection each selected weight
/// is, and how the probe's measurements enter the report.
extension Int8Quantization {
    /// Selected weight name → its projection, through the family name table. A selected weight that is
    /// not a block projection has no calibrated input, so it is refused with its name.
    static func linearSites(of names: [String], family: ModelFamily, layers: Int, store: TensorStore) throws -> [String: LinearSite] {
        let layout = try FamilyLayout(family: family, store: store)
        var byName: [String: LinearSite] = [:]
        for i in 0..<layers {
            for role in LinearRole.allCases {
                if let loc = layout.linear(role, layer: i), loc.part == nil { byName[loc.name + ".weight"] = LinearSite(layer: i, role: role) }
            }
        }
        var sites: [String: LinearSite] = [:]
        for name in names {
            guard let site = byName[name] else {
                throw PassError("\(kind).targets", "\(name) is not a block projection: the static scheme calibrates block linear inputs only (add it to \"ignore\")")
            }
            sites[name] = site
        }
        return sites
    }

    /// Metrics, the range chart and a note from one probe run: `static_w8a8_*` is the checkpoint's
    /// scheme (linear inputs, what loaders run), `full_w8a8_*` the §3.5 simulation over all sites.
    static func record(_ probe: StaticW8A8Probe.Result, observer: ActivationObserverKind, weightRange: WeightRangeKind, into metrics: inout [String: Double],
                       series: inout [PassReport.Series], notes: inout [String]) {
        for (prefix, e) in [("static_w8a8", probe.checkpoint), ("full_w8a8", probe.full)] {
            metrics["\(prefix)_logits_relative_error"] = e.logitsRelativeError
            metrics["\(prefix)_argmax_agreement"] = e.argmaxAgreement
            if let f = e.floatPerplexity, let q = e.quantizedPerplexity {
                metrics["calibration_float_perplexity"] = f
                metrics["calibration_\(prefix)_perplexity"] = q
            }
        }
        metrics["calibration_windows"] = Double(probe.calibrationWindows)
        metrics["evaluation_windows"] = Double(probe.evaluationWindows)
        let linearInputs = Set(StaticW8A8Probe.points)
        let keys = probe.ranges.keys.filter { linearInputs.contains($0.point) }.sorted { ($0.layer, $0.point.rawValue) < ($1.layer, $1.point.rawValue) }
        series.append(.init(title: "Calibrated activation range (max − min) at linear inputs", xLabel: "layer.point",
                            yLabel: "range", labels: keys.map { "\($0.layer).\($0.point.rawValue)" },
                            values: keys.map { Double((probe.ranges[$0]!.max ?? 0) - (probe.ranges[$0]!.min ?? 0)) }))
        let windows = probe.evaluationWindows == probe.calibrationWindows
            ? "on the \(probe.calibrationWindows) calibration windows themselves"
            : "on \(probe.evaluationWindows) windows held out from the \(probe.calibrationWindows) calibration windows"
        func line(_ what: String, _ e: StaticW8A8Probe.Evaluation) -> String {
            var s = "\(what): logits move by " + String(format: "%.4f", e.logitsRelativeError) + " relative, argmax agreement "
                + String(format: "%.4f", e.argmaxAgreement)
            if let f = e.floatPerplexity, let q = e.quantizedPerplexity { s += ", perplexity " + String(format: "%.3f → %.3f", f, q) }
            return s
        }
        let weights = weightRange == .mse ? "MSE grid of 100 candidates" : "max |w|"
        notes.append("static W8A8 (\(observer.rawValue) observer, momentum 0.9; weights symmetric per tensor, range by \(weights)) \(windows)")
        notes.append(line("checkpoint scheme (static asymmetric per-tensor inputs of every quantized linear, as written and as loaders run it)", probe.checkpoint))
        notes.append(line("full-site simulation (ALGORITHMS.md §3.5: also q/k/v/o/FFN outputs, scores, probabilities, embeddings, block outputs; "
                          + "not the mid-block residual sum, up_proj output or final norm; LM head float) — not expressible in the checkpoint", probe.full))
    }

    /// Export honesty for a model with gated attention or clipped softmax (`config.json` `whittle`):
    /// transformers loads the int8 weights but drops the gates / computes plain softmax. Measured on
    /// the calibration windows (float, before quantization) when there are any.
    func noteStockLoaders(_ model: EditableCheckpoint, examples: [Example], into metrics: inout [String: Double], notes: inout [String]) throws {
        let w = try WhittleConfig.read(from: model.config)
        let gated = w.attentionGate != nil, clipped = w.attention.map { $0.normaliser != "softmax" } ?? false
        guard gated || clipped else { return }
        let what = [gated ? "drop the attention gates" : nil, clipped ? "compute plain softmax instead of \(w.attention!.normaliser)" : nil]
            .compactMap { $0 }.joined(separator: " and ")
        guard !examples.isEmpty else {
            notes.append("config.json whittle declares non-stock attention; our runtime runs it from this folder, stock loaders (transformers) \(what) (not measured: no calibration data)")
            return
        }
        var report = PassReport(kind: Self.kind, summary: "")
        let stock = try stockLoaderDifference(model, examples: examples) { m, options in
            if gated { for l in m.layers { l.attentionGate = nil } }
            if clipped { options.attention = .standard }
        }
        report.recordStockLoader(stock, examples: min(8, examples.count), declared: "config.json whittle declares non-stock attention",
                                 what: what + " (float, before quantization; calibration windows)")
        metrics.merge(report.metrics) { a, _ in a }
        notes += report.notes
    }
}
