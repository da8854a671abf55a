import Foundation
import Tensors

// Rationale data for distilling step-by-step (Hsieh et al. 2023; ALGORITHMS.md §6.2–6.3): each example is
// an input text, its gold label, and a teacher's chain of thought split into rationale and label.

/// One training or test example of a rationale task.
public struct RationaleExample: Equatable, Sendable {
    public var input: String
    /// The gold label (CQA: the answer text; SVAMP: the equation, e.g. `( 84.0 / 2.0 )`).
    public var label: String
    /// The teacher's rationale ("" when the file has none, e.g. a test split).
    public var rationale: String
    /// The teacher's own label, parsed from its output (standard distillation trains on it).
    public var teacherLabel: String

    public init(input: String, label: String, rationale: String = "", teacherLabel: String? = nil) {
        self.input = input; self.label = label; self.rationale = rationale; self.teacherLabel = teacherLabel ?? label
    }
}

/// Which rule set parses the teacher strings and which metric scores the label.
public enum RationaleTask: String, Codable, Sendable {
    /// CommonsenseQA with CoS-E/PaLM rationales: exact match of the answer text.
    case cqa
    /// SVAMP math word problems: the label is an equation, scored by its value.
    case svamp
    /// A user's own JSONL (`input`, `label`, `rationale` fields): exact match.
    case jsonl
}

/// One parsed teacher string. `parsed` is false when a marker was missing; the missing part is then " "
/// (as the reference code substitutes), and the failure is counted.
public struct TeacherParse: Equatable, Sendable {
    public var rationale: String
    public var label: String
    public var parsed: Bool
}

/// CQA (§6.3): keep the text before the first "Q:", split on "So the answer is" (exactly once), label =
/// the text after the "(x)" choice marker, one trailing "." removed.
public func parseCQATeacherOutput(_ raw: String) -> TeacherParse {
    let text = trimmingTrailingWhitespace(beforeFirst("Q:", in: raw))
    let parts = text.components(separatedBy: "So the answer is")
    guard parts.count == 2 else { return TeacherParse(rationale: " ", label: " ", parsed: false) }
    let rationale = trimmingTrailingWhitespace(parts[0])
    // The text after the first "(x)" marker (one character between parentheses), up to the next marker.
    let rest = Array(parts[1])
    var label: String?
    var i = 0
    while i + 2 < rest.count {
        if rest[i] == "(", rest[i + 2] == ")" {
            var after = String(rest[(i + 3)...])
            if let next = firstChoiceMarker(in: Array(after)) { after = String(Array(after)[..<next]) }
            label = after.trimmingCharacters(in: .whitespacesAndNewlines)
            break
        }
        i += 1
    }
    guard var l = label, !l.isEmpty else { return TeacherParse(rationale: rationale, label: " ", parsed: false) }
    if l.hasSuffix(".") { l.removeLast() }
    return TeacherParse(rationale: rationale, label: l, parsed: true)
}

/// SVAMP (§6.3): before the first "Q:", split on "The answer is" (exactly once), label = the first
/// parenthesised group, shortest match (`\(.*?\)`), as the reference takes it.
public func parseSVAMPTeacherOutput(_ raw: String) -> TeacherParse {
    let text = trimmingTrailingWhitespace(beforeFirst("Q:", in: raw))
    let parts = text.components(separatedBy: "The answer is")
    guard parts.count == 2 else { return TeacherParse(rationale: " ", label: " ", parsed: false) }
    let rationale = trimmingTrailingWhitespace(parts[0])
    let rest = Array(parts[1])
    guard let open = rest.firstIndex(of: "("), let close = rest[open...].firstIndex(of: ")") else {
        return TeacherParse(rationale: rationale, label: " ", parsed: false)
    }
    return TeacherParse(rationale: rationale, label: String(rest[open...close]), parsed: true)
}

private func beforeFirst(_ marker: String, in text: String) -> String {
    text.range(of: marker).map { String(text[..<$0.lowerBound]) } ?? text
}

private func trimmingTrailingWhitespace(_ s: String) -> String {
    var s = Substring(s)
    while let last = s.last, last.isWhitespace { s.removeLast() }
    return String(s)
}

private func firstChoiceMarker(in chars: [Character]) -> Int? {
    var i = 0
    while i + 2 < chars.count {
        if chars[i] == "(", chars[i + 2] == ")" { return i }
        i += 1
    }
    return nil
}

/// CQA's input template (§6.2): the question, then the answer choices lettered (a)…(e).
public func cqaInput(question: String, choices: [String]) -> String {
    let letters = Array("abcdefghij")
    let lines = choices.enumerated().map { "(\(letters[min($0.offset, letters.count - 1)])) \($0.element)" }
    return question + "\nAnswer Choices:\n" + lines.joined(separator: "\n")
}

/// A rationale data set: train (with rationales), validation (held out of train), test (gold labels),
/// and how many teacher strings failed to parse in each split.
public struct RationaleData: Sendable {
    public var task: RationaleTask
    public var train: [RationaleExample]
    public var validation: [RationaleExample]
    public var test: [RationaleExample]
    /// Teacher strings whose rationale or label could not be parsed, per split ("train", "test").
    public var parseFailures: [String: Int]

    public init(task: RationaleTask, train: [RationaleExample], validation: [RationaleExample], test: [RationaleExample],
                parseFailures: [String: Int]) {
        self.task = task; self.train = train; self.validation = validation; self.test = test; self.parseFailures = parseFailures
    }

    /// Splits off `fraction` of `examples` as validation with a seeded shuffle (§6.2: 10 %, the sets have
    /// no validation split); both parts keep file order.
    public static func holdOut(_ examples: [RationaleExample], fraction: Double = 0.1, seed: UInt64) -> (train: [RationaleExample], validation: [RationaleExample]) {
        var order = Array(examples.indices)
        var g = SeededGenerator(seed: seed)
        order.shuffle(using: &g)
        let held = Set(order.prefix(Int((Double(examples.count) * fraction).rounded())))
        return (examples.indices.filter { !held.contains($0) }.map { examples[$0] },
                examples.indices.filter { held.contains($0) }.map { examples[$0] })
    }

    /// The first `fraction` of a seeded shuffle of the training examples (the data-fraction experiments).
    public func trainingSubset(fraction: Double, seed: UInt64) -> [RationaleExample] {
        var order = Array(train.indices)
        var g = SeededGenerator(seed: seed &+ 0x5EED)
        order.shuffle(using: &g)
        let n = max(1, Int((Double(train.count) * fraction).rounded()))
        return order.prefix(n).sorted().map { train[$0] }
    }
}

extension DataSource {
    /// Reads rationale data. `data` is the folder of a shipped set (`…/distill/svamp` holding
    /// `svamp_{train,test}.json` and `llm/{train,test}_CoT_*.json`, or `…/distill/cqa`), or a JSONL file
    /// of `input` (or `text_field`), `label` (or `label_field`) and `rationale` fields. 10 % of train
    /// is held out as validation with `seed` (default 0); `max_examples` keeps the first N training rows.
    public func rationaleData() throws -> RationaleData {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: data, isDirectory: &isFolder) else { throw DatasetError.fileNotFound(path: data) }
        var result: RationaleData
        if isFolder.boolValue {
            let name = (data as NSString).lastPathComponent
            let task: RationaleTask
            if FileManager.default.fileExists(atPath: data + "/svamp_train.json") { task = .svamp }
            else if FileManager.default.fileExists(atPath: data + "/cqa_train.json") { task = .cqa }
            else {
                throw DatasetError.invalidSource(path: data, message: "expected a rationale folder with svamp_train.json or cqa_train.json (folder '\(name)')")
            }
            let (train, trainFailures) = try Self.shippedSplit(folder: data, task: task, split: "train")
            let (test, testFailures) = try Self.shippedSplit(folder: data, task: task, split: "test")
            result = RationaleData(task: task, train: train, validation: [], test: test,
                                   parseFailures: ["train": trainFailures, "test": testFailures])
        } else {
            result = RationaleData(task: .jsonl, train: try jsonlRationales(), validation: [], test: [], parseFailures: [:])
        }
        if let maxExamples { result.train = Array(result.train.prefix(maxExamples)) }
        let split = RationaleData.holdOut(result.train, fraction: 0.1, seed: seed ?? 0)
        result.train = split.train
        result.validation = split.validation
        if result.train.isEmpty { throw DatasetError.noExamples(file: data) }
        return result
    }

    /// A generic JSONL rationale file: every row needs the input, label and rationale fields.
    func jsonlRationales() throws -> [RationaleExample] {
        let rows = try parseJSONRecords(try readText(data), file: data, arrayExpected: false)
        let inputField = textField ?? "input", labelField = self.labelField ?? "label"
        return try rows.enumerated().map { i, row in
            for field in [inputField, labelField, "rationale"] where row[field] == nil {
                throw DatasetError.malformedRow(file: data, row: i + 1, reason: "missing field '\(field)' (a rationale row needs \(inputField), \(labelField), rationale)")
            }
            return RationaleExample(input: row[inputField]!, label: row[labelField]!, rationale: row["rationale"]!)
        }
    }

    /// One split of a shipped set: gold rows from `<task>_<split>.json` (JSON lines), teacher strings from
    /// `llm/<split>_CoT_0.json, _1, …` (JSON arrays, concatenated in order, one per row).
    static func shippedSplit(folder: String, task: RationaleTask, split: String) throws -> ([RationaleExample], Int) {
        let file = "\(folder)/\(task.rawValue)_\(split).json"
        let rows = try parseJSONRecords(try readText(file), file: file, arrayExpected: false)
        var teacher: [String] = []
        var i = 0
        while FileManager.default.fileExists(atPath: "\(folder)/llm/\(split)_CoT_\(i).json") {
            let path = "\(folder)/llm/\(split)_CoT_\(i).json"
            guard let strings = try? JSONSerialization.jsonObject(with: Data(try readText(path).utf8)) as? [String] else {
                throw DatasetError.malformedRow(file: path, row: 1, reason: "expected a JSON array of teacher strings")
            }
            teacher += strings
            i += 1
        }
        guard teacher.count == rows.count else {
            throw DatasetError.invalidSource(path: "\(folder)/llm", message: "\(teacher.count) teacher strings in \(split)_CoT_*.json for \(rows.count) rows of \(file)")
        }
        var failures = 0
        let examples = try rows.enumerated().map { n, row -> RationaleExample in
            func field(_ name: String) throws -> String {
                guard let v = row[name] else { throw DatasetError.malformedRow(file: file, row: n + 1, reason: "missing field '\(name)'") }
                return v
            }
            let parse = task == .cqa ? parseCQATeacherOutput(teacher[n]) : parseSVAMPTeacherOutput(teacher[n])
            if !parse.parsed { failures += 1 }
            if task == .cqa {
                guard let data = row["choices"].map({ Data($0.utf8) }),
                      let choices = try? JSONSerialization.jsonObject(with: data) as? [String] else {
                    throw DatasetError.malformedRow(file: file, row: n + 1, reason: "field 'choices' must be an array of strings")
                }
                return RationaleExample(input: cqaInput(question: try field("question"), choices: choices), label: try field("answer"),
                                        rationale: parse.rationale, teacherLabel: parse.label)
            }
            return RationaleExample(input: try field("input"), label: try field("label"), rationale: parse.rationale, teacherLabel: parse.label)
        }
        return (examples, failures)
    }
}
