import Datasets
import Foundation
import Models

/// One measured value: what `compress eval --json` prints and the report's tables hold.
public struct MetricResult: Codable, Equatable, Sendable {
    public var metric: String
    public var value: Double
    /// Tokens predicted (perplexity, KL) or examples scored (classification, generation).
    public var count: Int
    public var details: [String: Double]
    public init(metric: String, value: Double, count: Int, details: [String: Double] = [:]) {
        self.metric = metric; self.value = value; self.count = count; self.details = details
    }
}

/// The thin layer between a loaded model and the pure metric functions.
extension TransformerModel {
    /// `[T, V]` next-token logits of one sequence (causal LM).
    public func sequenceLogits(_ ids: [Int32]) throws -> [Float] {
        try forward(ModelInput(tokens: [ids.map(Int.init)])).logits
    }

    /// Class logits of one example (sequence classifier), no padding.
    public func classLogits(_ example: Example) throws -> [Float] {
        try forward(ModelInput(tokens: [example.ids.map(Int.init)], tokenTypes: example.tokenTypes.map { [$0.map(Int.init)] })).logits
    }

    /// Sliding-window perplexity of a token stream (see `perplexityWindows`).
    public func perplexity(of stream: [Int32], seqLen: Int, stride: Int? = nil, file: String) throws -> PerplexityResult {
        try checkCanScore(seqLen: seqLen)
        return try Evaluation.perplexity(of: stream, seqLen: seqLen, stride: stride, vocab: config.vocabSize, file: file,
                                         logits: sequenceLogits)
    }

    /// The windows `perplexity(of:)` scores, after the same checks.
    public func perplexityWindows(of stream: [Int32], seqLen: Int, stride: Int? = nil, file: String) throws -> [PerplexityWindow] {
        try checkCanScore(seqLen: seqLen)
        return try checkedPerplexityWindows(tokenCount: stream.count, seqLen: seqLen, stride: stride, file: file)
    }

    /// Perplexity needs a causal LM whose positions cover one window.
    private func checkCanScore(seqLen: Int) throws {
        guard config.isCausalLM else {
            throw EvaluationError.invalidArgument(message: "perplexity needs a causal language model (this is a \(config.architecture))")
        }
        guard seqLen <= config.maxPositions else {
            throw EvaluationError.invalidArgument(message: "seq_len \(seqLen) exceeds the model's \(config.maxPositions) positions (max_position_embeddings)")
        }
    }

    /// Arg-max class of each example, one example per forward (no padding, so no mask effects).
    public func predictions(_ examples: [Example]) throws -> [Int] {
        guard config.isClassifier else {
            throw EvaluationError.invalidArgument(message: "classification metrics need a sequence classifier (this is a \(config.architecture))")
        }
        return try examples.map { e in
            let logits = try classLogits(e)
            return logits.indices.max { logits[$0] < logits[$1] }!
        }
    }

    /// Regression outputs (one logit per example, STS-B style).
    public func regressionOutputs(_ examples: [Example]) throws -> [Double] {
        try examples.map { Double(try classLogits($0)[0]) }
    }

    /// Per-module outlier statistics over `examples`: every layer's attention output, FFN output and
    /// block output, and the final norm's output (families that have one), each sample's `[T, width]`
    /// values as one vector (ALGORITHMS.md §3.4).
    public func outlierStats(_ examples: [Example],
                             points: [CapturePoint] = [.attentionOutput, .ffnOutput, .blockOutput]) throws -> OutlierStats {
        var stats = OutlierStats()
        for e in examples {
            let out = try forward(ModelInput(tokens: [e.ids.map(Int.init)], tokenTypes: e.tokenTypes.map { [$0.map(Int.init)] }),
                                  options: ForwardOptions(capture: Set(points), computeHead: false))
            for layer in 0..<layers.count {
                for point in points {
                    if let a = out.captures[CaptureKey(layer: layer, point: point)] {
                        stats.add(module: "layers.\(layer).\(point.rawValue)", output: a.values)
                    }
                }
            }
            if let norm = head.finalNorm {   // §3.4's module set ends with the final norm's output
                var y = out.lastHidden
                y.withUnsafeMutableBufferPointer { norm.forward($0.baseAddress!, $0.baseAddress!, rows: $0.count / norm.weight.count) }
                stats.add(module: "final_norm", output: y)
            }
        }
        return stats
    }
}

/// KL(original ‖ compressed) of next-token distributions over the windows of a token stream
/// (non-overlapping windows of `seqLen`), averaged over every position.
public func klDivergence(original: TransformerModel, compressed: TransformerModel, stream: [Int32], seqLen: Int,
                         file: String, progress: ProgressReporter = .silent) throws -> MetricResult {
    guard stream.count >= seqLen else { throw DatasetError.tooShortForWindow(file: file, tokens: stream.count, seqLen: seqLen) }
    var total = 0.0, positions = 0
    let windows = perplexityWindows(tokenCount: stream.count, seqLen: seqLen, stride: seqLen)
    try progress.stage("kl_divergence windows", total: windows.count) { update in
        for (i, w) in windows.enumerated() {
            let ids = Array(stream[w.begin..<w.end])
            let kl = meanKLDivergence(original: try original.sequenceLogits(ids), compressed: try compressed.sequenceLogits(ids),
                                      vocab: original.config.vocabSize)
            total += kl * Double(ids.count); positions += ids.count
            update(i + 1)
        }
    }
    return MetricResult(metric: Metric.klDivergence.rawValue, value: total / Double(positions), count: positions)
}

/// Runs one evaluation spec on a model. `encoder` may be nil for token_ids data; `labels` come from config.json.
public func evaluate(_ spec: EvaluationSpec, model: TransformerModel, encoder: TextEncoding?, labels: LabelSet?,
                     progress: ProgressReporter = .silent) throws -> MetricResult {
    let source = spec.source
    switch spec.metric {
    case .perplexity, .accuracy, .f1, .mcc:
        let items = try evaluationItems(spec, model: model, encoder: encoder, labels: labels)!
        return items.finish(try progress.stage(items.label, total: items.count) { update in
            try (0..<items.count).map { i in defer { update(i + 1) }; return try items.compute(i) }
        })
    case .pearson, .spearman:
        guard let encoder else { throw DatasetError.needsTokenizer(file: source.data, format: try source.resolvedFormat().rawValue) }
        let examples = try source.labeledExamples(encoder: encoder, labels: nil)
        let outputs = try model.regressionOutputs(examples), gold = examples.map { Double($0.target!) }
        let value = spec.metric == .pearson ? pearsonCorrelation(outputs, gold) : spearmanCorrelation(outputs, gold)
        return MetricResult(metric: spec.metric.rawValue, value: value, count: examples.count)
    case .latency:
        return try measureLatency(source, model: model, encoder: encoder, labels: labels)
    case .exactMatch:
        guard let decoder = encoder as? TextDecoding else { throw DatasetError.needsTokenizer(file: source.data, format: "exact_match") }
        return try exactMatchOfGreedyAnswers(source, model: model, tokenizer: decoder)
    case .klDivergence:
        throw EvaluationError.invalidArgument(message: "kl_divergence compares two models: give the original model (compress eval --original DIR)")
    }
}

/// Exact match of greedily generated answers: each prompt (text field, special tokens as the tokenizer adds
/// them) is continued greedily (batched, with the KV cache) for at most `seq_len` (default 64) tokens or
/// until the end token, decoded, and compared with the label field after whitespace normalisation.
public func exactMatchOfGreedyAnswers(_ source: DataSource, model: TransformerModel, tokenizer: TextDecoding) throws -> MetricResult {
    guard model.config.isCausalLM else {
        throw EvaluationError.invalidArgument(message: "exact_match generates text and needs a causal language model (this is a \(model.config.architecture))")
    }
    let pairs = try source.textPairs()
    if pairs.isEmpty { throw DatasetError.noExamples(file: source.data) }
    let prompts = try pairs.map { try tokenizer.encodeIDs($0.prompt, addSpecialTokens: true) }
    let answers = try greedyGenerate(model: model, prompts: prompts, maxNewTokens: source.seqLen ?? 64, eos: tokenizer.endOfSequenceID)
        .map { tokenizer.decodeIDs($0) }
    return MetricResult(metric: Metric.exactMatch.rawValue, value: exactMatch(predictions: answers, references: pairs.map(\.answer)),
                        count: pairs.count)
}

/// Milliseconds per token (language model: non-overlapping windows of `seq_len`, default 128) or per
/// example (classifier: one example per forward).
func measureLatency(_ source: DataSource, model: TransformerModel, encoder: TextEncoding?, labels: LabelSet?) throws -> MetricResult {
    if model.config.isClassifier {
        guard let encoder else { throw DatasetError.needsTokenizer(file: source.data, format: try source.resolvedFormat().rawValue) }
        let examples = try source.labeledExamples(encoder: encoder, labels: labels)
        let ms = try millisecondsPerUnit { _ = try model.predictions(examples); return examples.count }
        return MetricResult(metric: "latency_ms_per_example", value: ms, count: examples.count)
    }
    let seqLen = source.seqLen ?? 128
    let stream = try source.tokenStream(encoder: encoder)
    guard stream.count >= seqLen else { throw DatasetError.tooShortForWindow(file: source.data, tokens: stream.count, seqLen: seqLen) }
    let windows = perplexityWindows(tokenCount: stream.count, seqLen: seqLen, stride: seqLen)
    let tokens = windows.reduce(0) { $0 + $1.end - $1.begin }
    let ms = try millisecondsPerUnit {
        for w in windows { _ = try model.sequenceLogits(Array(stream[w.begin..<w.end])) }
        return tokens
    }
    return MetricResult(metric: "latency_ms_per_token", value: ms, count: tokens)
}
