import ArgumentParser
import Foundation
import Whittle

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model on a data file: perplexity (language models) or accuracy, F1, MCC, Pearson, Spearman (classifiers).")

    @Option(help: "A checkpoint folder (config.json, safetensors, tokenizer files).")
    var model: String

    @Option(help: "A data file: .txt, .txt.gz, .jsonl, .json, .tsv, .csv, or .tokens (space-separated token ids).")
    var data: String

    @Option(help: "perplexity, accuracy, f1, mcc, pearson, spearman, exact_match, kl_divergence or latency (default: perplexity for a language model, accuracy for a classifier).")
    var metric: String?

    @Option(help: "Data format when the extension does not say: text, jsonl, json, tsv, csv, token_ids.")
    var format: String?

    @Option(help: "Column or field holding the text (default: text, sentence, input or content).")
    var textField: String?

    @Option(help: "Column or field holding the second text of a pair.")
    var textPairField: String?

    @Option(help: "Column or field holding the label (default: label).")
    var labelField: String?

    @Option(help: "Tokens per perplexity window (default: 512, or the model's maximum if smaller).")
    var seqLen: Int?

    @Option(help: "Tokens between window starts (default: seq-len, i.e. non-overlapping windows).")
    var stride: Int?

    @Option(help: "Use only the first N tokens of the tokenized file.")
    var maxTokens: Int?

    @Option(help: "Use only the first N examples (rows, records or token lines).")
    var maxExamples: Int?

    @Option(help: "The original model, for --metric kl_divergence (KL of the original's next-token distribution from this model's).")
    var original: String?

    @Flag(help: "Print one JSON object on the last line (metric, value, count, model, data).")
    var json = false

    @OptionGroup var threading: ThreadsOption

    func run() throws {
        try exitOnUserError {
            threading.apply()
            var source = DataSource(data: data, textField: textField, textPairField: textPairField, labelField: labelField,
                                    maxExamples: maxExamples, seqLen: seqLen, stride: stride, maxTokens: maxTokens)
            if let format {
                guard let f = DataFormat(rawValue: format) else {
                    throw EvaluationError.invalidArgument(message: "--format: unknown format '\(format)' (expected one of \(DataFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                source.format = f
            }
            try source.validate(path: "")
            guard FileManager.default.fileExists(atPath: data) else { throw DatasetError.fileNotFound(path: data) }
            let loaded = try EvaluationModel(path: model)
            let chosen: Metric
            if let metric {
                guard let m = Metric(rawValue: metric) else {
                    throw EvaluationError.unsupportedMetric(metric: metric, supported: Metric.allCases.map(\.rawValue))
                }
                chosen = m
            } else {
                chosen = loaded.defaultMetric
            }
            let start = Date()
            let result: MetricResult
            if chosen == .klDivergence {
                guard let original else { throw EvaluationError.invalidArgument(message: "--metric kl_divergence needs --original DIR") }
                result = try loaded.klDivergence(from: try EvaluationModel(path: original), source: source)
            } else {
                result = try loaded.evaluate(EvaluationSpec(metric: chosen, source: source))
            }
            let seconds = Date().timeIntervalSince(start)
            if json {
                var object: [String: Any] = ["metric": result.metric, "value": result.value, "count": result.count,
                                             "model": model, "data": data, "seconds": seconds]
                if let rss = peakRSSBytes() { object["peak_rss_bytes"] = rss }
                for (k, v) in result.details { object[k] = v }
                let line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: line, as: UTF8.self))
            } else {
                let unit = ["perplexity", "kl_divergence", "latency_ms_per_token"].contains(result.metric) ? "tokens" : "examples"
                print("\(result.metric): \(String(format: "%.6g", result.value)) over \(result.count) \(unit) (\(String(format: "%.1f", seconds)) s)")
            }
        }
    }
}
