import Foundation
import TestSupport
import XCTest
@testable import Datasets

final class DataSourceTests: XCTestCase {
    func decode(_ json: String) throws -> DataSource {
        try JSONDecoder().decode(DataSource.self, from: Data(json.utf8))
    }

    func testDecodesAllDesignKeys() throws {
        let s = try decode(#"{"data": "a.tsv", "format": "tsv", "text_field": "t", "text_pair_field": "p", "label_field": "l", "#
            + #""samples": 4, "max_examples": 10, "seq_len": 64, "stride": 32, "max_tokens": 1000, "seed": 7}"#)
        XCTAssertEqual(s, DataSource(data: "a.tsv", format: .tsv, textField: "t", textPairField: "p", labelField: "l", samples: 4,
                                     maxExamples: 10, seqLen: 64, stride: 32, maxTokens: 1000, seed: 7))
        let roundTrip = try JSONDecoder().decode(DataSource.self, from: JSONEncoder().encode(s))
        XCTAssertEqual(roundTrip, s)
    }

    func testUnknownKeyIsRejectedWithItsPath() {
        struct Wrapper: Decodable { var calibration: DataSource }
        XCTAssertThrowsError(try JSONDecoder().decode(Wrapper.self, from: Data(#"{"calibration": {"data": "x.txt", "seqlen": 8}}"#.utf8))) {
            guard case let DatasetError.unknownKey(path, key, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(path, "calibration"); XCTAssertEqual(key, "seqlen")
        }
    }

    func testBadValuesNameTheJSONPath() {
        struct Wrapper: Decodable { var evaluation: [DataSource] }
        let cases: [(String, String)] = [
            (#"{"evaluation": [{"data": "x.txt", "seq_len": "long"}]}"#, "evaluation[0].seq_len: expected an integer"),
            (#"{"evaluation": [{"data": "x.txt", "seq_len": 1}]}"#, "evaluation[0].seq_len: must be at least 2 (got 1)"),
            (#"{"evaluation": [{"data": "x.txt", "seq_len": 8, "stride": 9}]}"#, "evaluation[0].stride: must not exceed seq_len 8 (got 9)"),
            (#"{"evaluation": [{"data": "x.bin", "format": "parquet"}]}"#,
             "evaluation[0].format: unknown format 'parquet' (expected one of text, jsonl, json, tsv, csv, token_ids)"),
            (#"{"evaluation": [{"format": "text"}]}"#, "evaluation[0]: missing key 'data' (the path of the data file)"),
        ]
        for (json, message) in cases {
            XCTAssertThrowsError(try JSONDecoder().decode(Wrapper.self, from: Data(json.utf8))) {
                XCTAssertEqual("\($0)", message)
            }
        }
    }

    func testFormatIsInferredFromTheExtensionThroughGz() throws {
        XCTAssertEqual(DataFormat.infer(from: "a/b.txt.gz"), .text)
        XCTAssertEqual(DataFormat.infer(from: "dev.TSV"), .tsv)
        XCTAssertEqual(DataFormat.infer(from: "x.tokens"), .tokenIDs)
        XCTAssertNil(DataFormat.infer(from: "x.parquet"))
        XCTAssertThrowsError(try DataSource(data: "x.parquet").resolvedFormat()) {
            XCTAssertEqual($0 as? DatasetError, .unknownFormat(path: "x.parquet", found: "x.parquet"))
        }
    }
}
