import Datasets
import Foundation
import Models

/// One independent item of an evaluation, as a shard computes it and a merge adds it up: a perplexity
/// window's NLL sum and predicted-token count, or one example's predicted class. Totals are sums over
/// items in item order (never averages of averages), so any split gives the single-process value.
public enum EvaluationItem: Codable, Equatable, Sendable {
    case window(nll: Double, count: Int)
    case prediction(Int)
}

/// An evaluation split into items: `compute(i)` runs the model on item i; `finish` turns all of them,
/// in order, into the metric. Perplexity and accuracy / F1 / MCC split; other metrics do not (nil).
public struct EvaluationItems {
    /// The progress stage's name ("perplexity windows", "examples").
    public let label: String
    public let count: Int
    public let compute: (Int) throws -> EvaluationItem
    public let finish: ([EvaluationItem]) -> MetricResult
}

public func evaluationItems(_ spec: EvaluationSpec, model: TransformerModel, encoder: TextEncoding?, labels: LabelSet?) throws -> EvaluationItems? {
    let source = spec.source
    switch spec.metric {
    case .perplexity:
        let seqLen = source.seqLen ?? min(512, model.config.maxPositions)
        let stream = try source.tokenStream(encoder: encoder)
        let windows = try model.perplexityWindows(of: stream, seqLen: seqLen, stride: source.stride, file: source.data)
        let vocab = model.config.vocabSize
        return EvaluationItems(label: "perplexity windows", count: windows.count, compute: { i in
            let w = windows[i], ids = Array(stream[w.begin..<w.end])
            return .window(nll: windowNLL(logits: try model.sequenceLogits(ids), vocab: vocab, ids: ids, firstTarget: w.firstTarget - w.begin),
                           count: w.predicted)
        }, finish: { items in
            let r = perplexityResult(items)
            return MetricResult(metric: spec.metric.rawValue, value: r.perplexity, count: r.count,
                                details: ["mean_nll": r.meanNLL, "windows": Double(r.windows)])
        })
    case .accuracy, .f1, .mcc:
        guard let encoder else { throw DatasetError.needsTokenizer(file: source.data, format: try source.resolvedFormat().rawValue) }
        guard model.config.isClassifier else {
            throw EvaluationError.invalidArgument(message: "\(spec.metric.rawValue) needs a sequence classifier (this is a \(model.config.architecture))")
        }
        let examples = try source.labeledExamples(encoder: encoder, labels: labels ?? LabelSet(names: (0..<model.config.numLabels).map { "LABEL_\($0)" }))
        let gold = examples.map { $0.label! }
        return EvaluationItems(label: "examples", count: examples.count, compute: { i in
            .prediction(try model.predictions([examples[i]])[0])
        }, finish: { items in
            let predicted = items.map { item -> Int in if case let .prediction(p) = item { return p }; preconditionFailure("not a prediction") }
            let value: Double
            switch spec.metric {
            case .accuracy: value = accuracy(predictions: predicted, labels: gold)
            case .f1: value = f1Score(predictions: predicted, labels: gold)
            default: value = matthewsCorrelation(predictions: predicted, labels: gold)
            }
            return MetricResult(metric: spec.metric.rawValue, value: value, count: examples.count,
                                details: ["correct": Double(zip(predicted, gold).filter { $0 == $1 }.count)])
        })
    default:
        return nil
    }
}

/// The windows' sums added in window order.
public func perplexityResult(_ items: [EvaluationItem]) -> PerplexityResult {
    var result = PerplexityResult(nllSum: 0, count: 0, windows: 0)
    for item in items {
        guard case let .window(nll, count) = item else { preconditionFailure("not a perplexity window") }
        result.nllSum += nll; result.count += count; result.windows += 1
    }
    return result
}
