import Datasets
import Foundation
import TestSupport
import XCTest
@testable import Evaluation

final class PerplexityTests: XCTestCase {
    func testWindowsMatchTheTransformersRecipeForEveryReferenceCase() throws {
        let ref = try Fixtures.readJSON(Fixtures.path("eval/stories260k_perplexity.json")) as! [String: Any]
        for case_ in ref["cases"] as! [[String: Any]] {
            let maxTokens = case_["max_tokens"] as? Int ?? 1024
            let windows = perplexityWindows(tokenCount: min(1024, maxTokens), seqLen: case_["seq_len"] as! Int, stride: case_["stride"] as! Int)
            let expected = case_["windows"] as! [[String: Any]]
            XCTAssertEqual(windows.map(\.begin), expected.map { $0["begin"] as! Int })
            XCTAssertEqual(windows.map(\.end), expected.map { $0["end"] as! Int })
            XCTAssertEqual(windows.map(\.predicted), expected.map { $0["predicted"] as! Int })
            XCTAssertEqual(windows.map(\.predicted).reduce(0, +), case_["count"] as! Int)
        }
    }

    func testNonOverlappingWindowsEachPredictSeqLenMinusOne() {
        let w = perplexityWindows(tokenCount: 4096, seqLen: 512, stride: 512)
        XCTAssertEqual(w.count, 8)
        XCTAssertEqual(Set(w.map(\.predicted)), [511])
    }

    func testWindowNLLOfUniformLogitsIsLogVocab() {
        let nll = windowNLL(logits: [Float](repeating: 0.5, count: 5 * 7), vocab: 7, ids: [0, 1, 2, 3, 4], firstTarget: 1)
        XCTAssertEqual(nll, 4 * log(7.0), accuracy: 1e-9)
    }

    func testTextTooShortForOneWindow() {
        XCTAssertThrowsError(try perplexity(of: [1, 2, 3], seqLen: 8, vocab: 4, file: "short.txt", logits: { _ in [] })) {
            XCTAssertEqual($0 as? DatasetError, .tooShortForWindow(file: "short.txt", tokens: 3, seqLen: 8))
            XCTAssertEqual("\($0)", "short.txt: 3 tokens is too short for one window of seq_len 8 (use a smaller seq_len or more text)")
        }
    }

    func testWindowArgumentsOutOfRangeThrowInsteadOfTrapping() {
        XCTAssertThrowsError(try perplexity(of: [1, 2, 3], seqLen: 2, stride: 3, vocab: 4, file: "f", logits: { _ in [] })) {
            XCTAssertEqual("\($0)", "stride must be from 1 to seq_len 2 (got 3)")
        }
        XCTAssertThrowsError(try perplexity(of: [1, 2, 3], seqLen: 1, vocab: 4, file: "f", logits: { _ in [] })) {
            XCTAssertEqual("\($0)", "seq_len must be at least 2 (got 1)")
        }
    }
}
