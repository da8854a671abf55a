import Foundation
import XCTest
@testable import Evaluation

final class EvaluationSpecTests: XCTestCase {
    func testEvaluationSpecAcceptsNameAndMetric() throws {
        let spec = try JSONDecoder().decode(EvaluationSpec.self, from: Data(
            #"{"name": "held-out", "data": "v.txt", "metric": "perplexity", "seq_len": 256}"#.utf8))
        XCTAssertEqual(spec.name, "held-out"); XCTAssertEqual(spec.metric, .perplexity); XCTAssertEqual(spec.source.seqLen, 256)
        XCTAssertThrowsError(try JSONDecoder().decode(EvaluationSpec.self, from: Data(#"{"data": "v.txt", "metric": "bleu"}"#.utf8))) {
            XCTAssertEqual("\($0)", "metric: unknown metric 'bleu' (supported: \(Metric.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }
}
