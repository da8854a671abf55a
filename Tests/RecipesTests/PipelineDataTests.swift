import XCTest
import Checkpoints
import Datasets
@testable import Recipes
import TestSupport

final class PipelineDataTests: XCTestCase {
    let tokens = Fixtures.path("eval/stories260k_samples.tokens")

    func data() throws -> PipelineData {
        let model = Fixtures.path("models/stories260K")
        return try PipelineData(modelFolder: model, input: Checkpoint(path: model))
    }

    func stream() throws -> [Int32] {
        try String(contentsOfFile: tokens, encoding: .utf8).split(whereSeparator: \.isWhitespace).map { Int32($0)! }
    }

    func testTrainingDataWithoutSamplesIsTheWholeStreamInConsecutiveWindows() throws {
        let examples = try data().trainingExamples(DataSource(data: tokens, seqLen: 100))
        let all = try stream()
        XCTAssertEqual(examples.count, all.count / 100)
        for (i, e) in examples.enumerated() { XCTAssertEqual(e.ids, Array(all[i * 100..<(i + 1) * 100])) }
    }

    func testCalibrationTakesSeededWindowsOfTheStream() throws {
        let source = DataSource(data: tokens, samples: 6, seqLen: 64, seed: 3)
        let a = try data().calibrationExamples(source), b = try data().calibrationExamples(source)
        XCTAssertEqual(a, b, "the same seed gives the same windows")
        XCTAssertEqual(a.count, 6)
        let joined = try stream().map(String.init).joined(separator: " ")
        for e in a {
            XCTAssertEqual(e.ids.count, 64)
            XCTAssertTrue(joined.contains(e.ids.map(String.init).joined(separator: " ")), "a window is a slice of the stream")
        }
    }

    func testTooShortTrainingDataIsNamed() throws {
        XCTAssertThrowsError(try data().trainingExamples(DataSource(data: tokens, seqLen: 4096))) { error in
            XCTAssertEqual(error as? DatasetError, .tooShortForWindow(file: self.tokens, tokens: 1024, seqLen: 4096))
        }
    }
}
