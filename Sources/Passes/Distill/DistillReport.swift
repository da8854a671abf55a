import Foundation
import Datasets
import Training

extension DistillStepByStep {
    /// The report: accuracy of every method against the fraction of training data (table + chart), the
    /// DSS student's generated rationales on the first evaluation examples, the loss curve of the kept model.
    func report(data: RationaleData, methods: [Method], fractions: [Double], results: [Method: [Double]],
                curves: [String: [Float]], settings: TrainerSettings, evaluated: Int,
                examples: [(RationaleExample, String, String)], changes: [PassReport.TensorChange]) -> PassReport {
        func percent(_ f: Double) -> String { String(format: "%g %%", f * 100) }
        let names: [Method: String] = [.dss: "DSS", .labelOnly: "label-only", .standardDistillation: "standard distillation"]
        var metrics: [String: Double] = [
            "train_examples": Double(data.train.count), "validation_examples": Double(data.validation.count),
            "evaluated_examples": Double(evaluated), "steps_per_run": Double(settings.steps), "alpha": Double(alpha),
        ]
        for (split, n) in data.parseFailures { metrics["parse_failures_\(split)"] = Double(n) }
        for m in methods { for (f, a) in zip(fractions, results[m] ?? []) { metrics["accuracy_\(m.rawValue)_\(String(format: "%g", f * 100))pct"] = a } }
        let accuracyTable = PassReport.Table(
            title: "Accuracy (\(evalSplit.rawValue), \(evaluated) examples) against the fraction of training data",
            header: ["training data"] + methods.map { names[$0]! },
            rows: fractions.enumerated().map { i, f in
                ["\(percent(f)) (\(max(1, Int((Double(data.train.count) * f).rounded()))) examples)"]
                    + methods.map { String(format: "%.1f %%", (results[$0]?[i] ?? .nan) * 100) }
            })
        let exampleTable = PassReport.Table(
            title: "Rationales the DSS student generates (\"\(rationalePrefix)\" prompts)",
            header: ["input", "generated rationale", "predicted label", "gold label"],
            rows: examples.map { e, rationale, label in [e.input.replacingOccurrences(of: "\n", with: " "), rationale, label, e.label] })
        let series = methods.map { m in
            PassReport.Series(title: "Accuracy", xLabel: "fraction of training data", yLabel: names[m]!,
                              labels: fractions.map(percent), values: results[m] ?? [])
        }
        let kept = curves["dss@\(fractions.last!)"] ?? []
        let last = results[.dss]?.last ?? 0
        var summary = String(format: "distilled step by step (α %g, %@, %d steps × batch %d per run): accuracy %.1f %% with %@ of the data",
                             Double(alpha), data.task.rawValue, settings.steps, training.batchSize, last * 100, percent(fractions.last!))
        for m in methods.dropFirst() { summary += String(format: "; %@ %.1f %%", names[m]!, (results[m]?.last ?? 0) * 100) }
        var notes = [
            "Equal budgets: every method and fraction trains \(settings.steps) optimizer steps of \(training.batchSize) examples from the same start; a DSS step also runs the rationale task (twice the sequences).",
            "DSS trains on \(labelSource == .teacher ? "the teacher's labels" : "the gold labels") and the teacher's rationales; label-only on the gold labels, standard distillation on the teacher's labels (no prefix). Evaluation decodes the label greedily from \"\(labelPrefix)\" prompts (baselines: no prefix), at most \(maxNewTokens) tokens.",
            data.task == .svamp ? "SVAMP is scored by the value of the predicted equation (numbers, + − × ÷, parentheses), 1e-6 relative." : "Scored by exact match after whitespace normalisation.",
        ]
        let failures = data.parseFailures.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        if !failures.isEmpty { notes.append("Teacher strings that did not parse (rationale or label replaced by \" \", kept as the reference does): " + failures.joined(separator: ", ") + ".") }
        return PassReport(
            kind: Self.kind, summary: summary, metrics: metrics, tensors: changes,
            series: series + [.init(title: "Training loss (DSS, \(percent(fractions.last!)))", xLabel: "step", yLabel: "loss",
                                    labels: kept.indices.map { String($0 + 1) }, values: kept.map(Double.init))],
            notes: notes, tables: [accuracyTable, exampleTable])
    }
}
