import Foundation
import TestSupport
import XCTest
@testable import Datasets

/// The rationale data of distilling step-by-step (ALGORITHMS.md §6.2–6.3) against the independent Python
/// parse in tools/reference/distill_parse_reference.py (fixtures/distill/parse_reference.json).
final class RationaleDataTests: XCTestCase {
    let regenerate = "/root/venv/bin/python tools/reference/distill_parse_reference.py"

    func reference() throws -> [String: [String: Any]] {
        try Fixtures.readJSON(try Fixtures.required("distill/parse_reference.json", regenerate: regenerate)) as! [String: [String: Any]]
    }

    func shipped(_ name: String) throws -> String? {
        guard let folder = Fixtures.shared("data/distill/\(name)") else {
            print("skipping: ../shared/data/distill/\(name) is absent (set WHITTLE_SHARED)")
            return nil
        }
        return folder
    }

    func testParsesShippedSetsLikeTheReference() throws {
        let ref = try reference()
        for (name, task) in [("svamp", RationaleTask.svamp), ("cqa", .cqa)] {
            guard let folder = try shipped(name) else { return }
            for split in ["train", "test"] {
                let expected = ref["\(name)_\(split)"]!
                let (rows, failures) = try DataSource.shippedSplit(folder: folder, task: task, split: split)
                XCTAssertEqual(rows.count, expected["rows"] as! Int, "\(name) \(split) rows")
                XCTAssertEqual(failures, expected["failures"] as! Int, "\(name) \(split) parse failures")
                XCTAssertEqual(rows[0].input, expected["input_0"] as! String, "\(name) \(split) input template")
                XCTAssertEqual(rows[0].label, expected["gold_0"] as! String)
                for e in expected["examples"] as! [[String: Any]] {
                    let row = e["row"] as! Int
                    XCTAssertEqual(rows[row].rationale, e["rationale"] as! String, "\(name) \(split) row \(row) rationale")
                    XCTAssertEqual(rows[row].teacherLabel, e["label"] as! String, "\(name) \(split) row \(row) teacher label")
                }
            }
        }
    }

    func testRowCountsSplitAndFailuresOfTheSourceLoader() throws {
        guard let folder = try shipped("svamp") else { return }
        let data = try DataSource(data: folder).rationaleData()
        XCTAssertEqual(data.task, .svamp)
        XCTAssertEqual(data.train.count, 720, "800 train rows minus the 10 % held out")
        XCTAssertEqual(data.validation.count, 80)
        XCTAssertEqual(data.test.count, 200)
        XCTAssertEqual(data.parseFailures, ["train": 13, "test": 2])
        XCTAssertTrue(Set(data.train.map(\.input)).isDisjoint(with: data.validation.map(\.input)))
        let again = try DataSource(data: folder).rationaleData()
        XCTAssertEqual(again.validation, data.validation, "the hold-out is seeded")
        let other = try DataSource(data: folder, seed: 1).rationaleData()
        XCTAssertNotEqual(other.validation, data.validation, "another seed holds out other rows")
        let eighth = data.trainingSubset(fraction: 0.125, seed: 0)
        XCTAssertEqual(eighth.count, 90)
        XCTAssertEqual(Set(eighth.map(\.input)).count, 90)
    }

    func testParseRulesOnHandWrittenStrings() {
        XCTAssertEqual(parseSVAMPTeacherOutput("He has 3 + 4 = 7. The answer is (3 + 4).\n\nQ: Next. The answer is (1)."),
                       TeacherParse(rationale: "He has 3 + 4 = 7.", label: "(3 + 4)", parsed: true))
        XCTAssertEqual(parseSVAMPTeacherOutput("No marker here.\n\nQ: x"), TeacherParse(rationale: " ", label: " ", parsed: false))
        XCTAssertEqual(parseSVAMPTeacherOutput("So. The answer is 7."), TeacherParse(rationale: "So.", label: " ", parsed: false))
        XCTAssertEqual(parseCQATeacherOutput("Only bridge fits. So the answer is (e) bridge.\n\nQ: other"),
                       TeacherParse(rationale: "Only bridge fits.", label: "bridge", parsed: true))
        XCTAssertEqual(parseCQATeacherOutput("Hmm. So the answer is bridge."), TeacherParse(rationale: "Hmm.", label: " ", parsed: false))
        XCTAssertEqual(cqaInput(question: "Q?", choices: ["a1", "b1"]), "Q?\nAnswer Choices:\n(a) a1\n(b) b1")
    }

    func testGenericJSONLAndItsErrors() throws {
        let folder = NSTemporaryDirectory() + "rationales-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let good = folder + "/r.jsonl"
        let lines = (0..<20).map { #"{"input": "x\#($0)", "label": "\#($0 % 3)", "rationale": "because \#($0)"}"# }
        try lines.joined(separator: "\n").write(toFile: good, atomically: true, encoding: .utf8)
        let data = try DataSource(data: good, seed: 3).rationaleData()
        XCTAssertEqual(data.task, .jsonl)
        XCTAssertEqual(data.train.count + data.validation.count, 20)
        XCTAssertEqual(data.validation.count, 2)
        XCTAssertEqual(data.train.first { $0.input == "x5" }?.rationale ?? data.validation.first { $0.input == "x5" }?.rationale, "because 5")
        let bad = folder + "/bad.jsonl"
        try #"{"input": "x", "label": "y"}"#.write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DataSource(data: bad).rationaleData()) {
            XCTAssertEqual("\($0)", "\(bad): row 1: missing field 'rationale' (a rationale row needs input, label, rationale)")
        }
        XCTAssertThrowsError(try DataSource(data: folder).rationaleData()) {
            XCTAssertEqual("\($0)", "\(folder): expected a rationale folder with svamp_train.json or cqa_train.json (folder '\((folder as NSString).lastPathComponent)')")
        }
    }
}
