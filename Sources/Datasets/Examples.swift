import Foundation

extension DataSource {
    /// Field names tried, in order, when `text_field` is not given.
    public static let defaultTextFields = ["text", "sentence", "input", "content"]

    /// One token stream for language-model metrics: a text file tokenized whole; records' texts tokenized
    /// one by one and concatenated; token_ids lines concatenated. No special tokens are added.
    /// `max_tokens` keeps the first N tokens.
    public func tokenStream(encoder: TextEncoding?) throws -> [Int32] {
        var stream: [Int32] = []
        switch try load() {
        case .text(let text):
            guard let encoder else { throw DatasetError.needsTokenizer(file: data, format: "text") }
            stream = try encoder.encodeIDs(text, addSpecialTokens: false)
        case .records(let columns, let rows):
            guard let encoder else { throw DatasetError.needsTokenizer(file: data, format: try resolvedFormat().rawValue) }
            let field = try textColumn(columns)
            for row in rows { stream += try encoder.encodeIDs(row[field] ?? "", addSpecialTokens: false) }
        case .tokens(let lines):
            stream = lines.flatMap { $0 }
        }
        if let maxTokens, stream.count > maxTokens { stream.removeLast(stream.count - maxTokens) }
        return stream
    }

    /// Classification (or regression) examples: text (and pair) encoded with special tokens, label mapped
    /// to the model's label ids. A label that is a number outside the label set, or an unknown name, is an error.
    /// When `labels` is nil the label column is read as a regression target (STS-B style).
    public func labeledExamples(encoder: TextEncoding, labels: LabelSet?) throws -> [Example] {
        guard case let .records(columns, rows) = try load() else {
            throw DatasetError.invalidSource(path: data, message: "labeled examples need jsonl, json, tsv or csv data (got \(try resolvedFormat().rawValue))")
        }
        let textField = try textColumn(columns)
        let labelField = self.labelField ?? "label"
        guard columns.contains(labelField) else {
            throw DatasetError.missingField(file: data, field: labelField, available: columns)
        }
        if let pair = textPairField, !columns.contains(pair) {
            throw DatasetError.missingField(file: data, field: pair, available: columns)
        }
        var examples: [Example] = []
        let format = try resolvedFormat()
        let firstRow = format == .tsv || format == .csv ? 2 : 1   // tables: file line under the header; JSON: record number
        for (i, row) in rows.enumerated() {
            let rowNumber = i + firstRow
            guard let rawLabel = row[labelField] else {
                throw DatasetError.missingField(file: data, field: labelField, available: row.keys.sorted())
            }
            var example: Example
            if let pair = textPairField {
                let e = try encoder.encodePairIDs(row[textField] ?? "", row[pair] ?? "")
                example = Example(ids: e.ids, tokenTypes: e.typeIDs)
            } else {
                let ids = try encoder.encodeIDs(row[textField] ?? "", addSpecialTokens: true)
                example = Example(ids: ids, tokenTypes: [Int32](repeating: 0, count: ids.count))
            }
            if let labels {
                guard let id = labels.id(of: rawLabel) else {
                    throw DatasetError.labelMismatch(file: data, row: rowNumber, label: rawLabel,
                        modelLabels: labels.names.enumerated().map { "\($0.offset)=\($0.element)" })
                }
                example.label = id
            } else {
                guard let target = Float(rawLabel.trimmingCharacters(in: .whitespaces)) else {
                    throw DatasetError.malformedRow(file: data, row: rowNumber, reason: "label '\(rawLabel)' is not a number")
                }
                example.target = target
            }
            examples.append(example)
        }
        if examples.isEmpty { throw DatasetError.noExamples(file: data) }
        return examples
    }

    /// Raw (text, label) string pairs, for generation tasks scored by exact match.
    public func textPairs(answerField: String? = nil) throws -> [(prompt: String, answer: String)] {
        guard case let .records(columns, rows) = try load() else {
            throw DatasetError.invalidSource(path: data, message: "generation tasks need jsonl, json, tsv or csv data")
        }
        let textField = try textColumn(columns)
        let answer = answerField ?? labelField ?? "label"
        guard columns.contains(answer) else { throw DatasetError.missingField(file: data, field: answer, available: columns) }
        return rows.map { ($0[textField] ?? "", $0[answer] ?? "") }
    }

    func textColumn(_ columns: [String]) throws -> String {
        if let textField {
            guard columns.contains(textField) else { throw DatasetError.missingField(file: data, field: textField, available: columns) }
            return textField
        }
        guard let found = Self.defaultTextFields.first(where: columns.contains) else {
            throw DatasetError.missingField(file: data, field: "text", available: columns)
        }
        return found
    }
}
