import Foundation
import Tensors
import TestSupport
import XCTest
@testable import Datasets

final class DataReaderTests: XCTestCase {
    let sst2TSV = Fixtures.path("data/sst2-dev-head.tsv")

    func testTSVAndCSVOfTheSameRowsGiveTheSameExamples() throws {
        let labels = LabelSet(names: ["negative", "positive"])
        let fromTSV = try DataSource(data: sst2TSV).labeledExamples(encoder: WordLengthEncoder(), labels: labels)
        let fromCSV = try DataSource(data: Fixtures.path("data/sst2-dev-head.csv"))
            .labeledExamples(encoder: WordLengthEncoder(), labels: labels)
        XCTAssertEqual(fromTSV.count, 32)
        XCTAssertEqual(fromTSV, fromCSV)
        // Row 1: "it 's a charming and often affecting journey . " label 1
        XCTAssertEqual(fromTSV[0], Example(ids: [101, 2, 2, 1, 8, 3, 5, 9, 7, 1, 102], tokenTypes: [Int32](repeating: 0, count: 11), label: 1))
        XCTAssertEqual(fromTSV.prefix(4).map(\.label), [1, 0, 1, 1])
    }

    func testMaxExamplesKeepsTheFirstRowsInFileOrder() throws {
        let all = try DataSource(data: sst2TSV).load(), first3 = try DataSource(data: sst2TSV, maxExamples: 3).load()
        guard case let .records(_, rows) = all, case let .records(columns, head) = first3 else { return XCTFail() }
        XCTAssertEqual(columns, ["text", "label"])
        XCTAssertEqual(Array(rows.prefix(3)), head)
    }

    func testJSONLinesAndJSONArrayReadTheSameRecords() throws {
        let lines = try DataSource(data: Fixtures.path("data/svamp-test-head.jsonl")).textPairs()
        let array = try DataSource(data: Fixtures.path("data/svamp-test-head.json"), textField: "input").textPairs()
        XCTAssertEqual(lines.count, 8)
        XCTAssertEqual(lines.map(\.prompt), array.map(\.prompt)); XCTAssertEqual(lines.map(\.answer), array.map(\.answer))
        XCTAssertEqual(lines[0].answer, "( 10.0 * 45.0 )")
        XCTAssertTrue(lines[0].prompt.hasPrefix("Paige was helping her mom plant flowers"))
    }

    func testGzipTextIsInflatedThroughZlib() throws {
        guard case let .text(text) = try DataSource(data: Fixtures.path("data/wikitext2-test-head.txt.gz")).load() else { return XCTFail() }
        XCTAssertEqual(text.utf8.count, 20_000)
        XCTAssertTrue(text.contains("Robert Boulter is an English film , television and theatre actor"))
        let stream = try DataSource(data: Fixtures.path("data/wikitext2-test-head.txt.gz"), maxTokens: 100).tokenStream(encoder: WordLengthEncoder())
        XCTAssertEqual(stream.count, 100)
        XCTAssertEqual(Array(stream.prefix(4)), [1, 6, 7, 1])   // "= Robert Boulter ="
    }

    func testTokenIDsFileIsOneSequencePerLine() throws {
        let source = DataSource(data: Fixtures.path("eval/stories260k_samples.tokens"))
        guard case let .tokens(lines) = try source.load() else { return XCTFail() }
        XCTAssertEqual(lines.map(\.count), [256, 256, 256, 256])
        XCTAssertEqual(lines.map(\.first), [1, 1, 1, 1])
        XCTAssertEqual(try source.tokenStream(encoder: nil).count, 1024)
        var limited = source; limited.maxExamples = 2; limited.maxTokens = 300
        XCTAssertEqual(try limited.tokenStream(encoder: nil), Array(lines[0] + lines[1]).prefix(300).map { $0 })
    }

    func testCSVQuotingRules() throws {
        XCTAssertEqual(try parseCSV("a,b\n\"x, \"\"y\"\"\",2\r\n\"multi\nline\",3\n\n", file: "t.csv"),
                       [["a", "b"], ["x, \"y\"", "2"], ["multi\nline", "3"]])
        XCTAssertThrowsError(try parseCSV("a\n\"open", file: "t.csv")) {
            XCTAssertEqual($0 as? DatasetError, .malformedRow(file: "t.csv", row: 2, reason: "unterminated quoted field"))
        }
    }

    // MARK: bad input, each a specific one-line error

    func testMissingDataFile() {
        XCTAssertThrowsError(try DataSource(data: "/nonexistent/dev.tsv").load()) {
            XCTAssertEqual($0 as? DatasetError, .fileNotFound(path: "/nonexistent/dev.tsv"))
            XCTAssertEqual("\($0)", "/nonexistent/dev.tsv: no such data file")
        }
    }

    func testMissingColumn() {
        XCTAssertThrowsError(try DataSource(data: sst2TSV, textField: "sentence").labeledExamples(encoder: WordLengthEncoder(), labels: nil)) {
            XCTAssertEqual($0 as? DatasetError, .missingField(file: sst2TSV, field: "sentence", available: ["text", "label"]))
            XCTAssertEqual("\($0)", "\(self.sst2TSV): no column or field 'sentence' (available: text, label)")
        }
        XCTAssertThrowsError(try DataSource(data: sst2TSV, labelField: "gold").labeledExamples(encoder: WordLengthEncoder(), labels: nil)) {
            XCTAssertEqual($0 as? DatasetError, .missingField(file: sst2TSV, field: "gold", available: ["text", "label"]))
        }
    }

    func testLabelsNotMatchingTheModel() {
        let threeWay = LabelSet(names: ["entailment", "neutral", "contradiction"])
        XCTAssertThrowsError(try DataSource(data: Fixtures.path("data/svamp-test-head.jsonl"))
            .labeledExamples(encoder: WordLengthEncoder(), labels: threeWay)) {
            XCTAssertEqual("\($0)", "\(Fixtures.path("data/svamp-test-head.jsonl")): row 1: label '( 10.0 * 45.0 )' does not match the model's labels (0=entailment, 1=neutral, 2=contradiction)")
        }
        let oneLabel = LabelSet(names: ["only"])
        XCTAssertThrowsError(try DataSource(data: sst2TSV).labeledExamples(encoder: WordLengthEncoder(), labels: oneLabel)) {
            XCTAssertEqual($0 as? DatasetError, .labelMismatch(file: sst2TSV, row: 2, label: "1", modelLabels: ["0=only"]))
        }
    }

    func testLabelNamesMapToIDs() {
        let labels = LabelSet(names: ["negative", "positive"])
        XCTAssertEqual(labels.id(of: "Positive"), 1); XCTAssertEqual(labels.id(of: "0"), 0)
        XCTAssertNil(labels.id(of: "2")); XCTAssertNil(labels.id(of: "neutral"))
        XCTAssertEqual(LabelSet(config: ["id2label": ["1": "pos", "0": "neg"]]), LabelSet(names: ["neg", "pos"]))
        XCTAssertNil(LabelSet(config: ["hidden_size": 64]))
    }

    func testSpreadsheetCSVWithByteOrderMarkKeepsItsHeader() throws {
        let file = NSTemporaryDirectory() + "bom-\(UUID().uuidString).csv"
        try Data([0xEF, 0xBB, 0xBF] + Array("sentence,label\n\"good, really\",1\n".utf8)).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let examples = try DataSource(data: file).labeledExamples(encoder: WordLengthEncoder(), labels: LabelSet(names: ["neg", "pos"]))
        XCTAssertEqual(examples, [Example(ids: [101, 5, 6, 102], tokenTypes: [0, 0, 0, 0], label: 1)])
    }

    func testBadTokenIDIsNamedWithItsLine() throws {
        let file = NSTemporaryDirectory() + "bad-\(UUID().uuidString).tokens"
        try "1 2 3\n4 x 5\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        XCTAssertThrowsError(try DataSource(data: file).load()) {
            XCTAssertEqual($0 as? DatasetError, .invalidTokenID(file: file, line: 2, token: "x"))
        }
    }

    func testCalibrationSamplingIsSeededAndDeterministic() throws {
        let stream = (0..<1000).map { Int32($0) }
        let a = try calibrationSequences(from: stream, count: 5, seqLen: 64, seed: 3)
        let b = try calibrationSequences(from: stream, count: 5, seqLen: 64, seed: 3)
        let c = try calibrationSequences(from: stream, count: 5, seqLen: 64, seed: 4)
        XCTAssertEqual(a, b); XCTAssertNotEqual(a, c)
        for e in a { XCTAssertEqual(e.ids.count, 64); XCTAssertEqual(e.ids.last! - e.ids.first!, 63) }
        // SplitMix64 from seed 0: first output is 0xE220A8397B1DCDAF (the published test vector)
        var g = SeededGenerator(seed: 0)
        XCTAssertEqual(g.next(), 0xE220_A839_7B1D_CDAF)
    }
}
