import XCTest
@testable import Checkpoints

/// `jsonText` (the tokenizer.json writer behind GGUF → folder): Foundation's parser reads back exactly
/// the value written; keys come out in UTF-8 byte order whatever the dictionary's order; a number
/// JSON cannot hold is an error naming the document.
final class JSONTextTests: XCTestCase {
    func testRoundTripsThroughFoundationsParser() throws {
        let value: [String: Any] = [
            "vocab": ["Ġthe": 1, "\"quoted\"\\": 2, "tab\there": 3, "é": 4, "\u{1}": 5, "▁x": 6, "<0x0A>": 7],
            "merges": ["Ġ t", "h e"], "scores": [Float(-1.5), Float(-12345), Float(0.25)], "double": 0.1,
            "flags": [true, false], "none": NSNull(), "nested": ["a": [["b": [Int32(3)]]]],
        ]
        let data = try jsonText(value, path: "t.json")
        let back = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? NSDictionary)
        XCTAssertEqual(back, value as NSDictionary)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix(#"{"double":0.1,"flags":[true,false],"merges":["Ġ t","h e"],"nested":{"a":[{"b":[3]}]},"none":null,"#), text)
        XCTAssertTrue(text.contains(#""scores":[-1.5,-12345,0.25]"#), text)
        XCTAssertTrue(text.contains(#"{"\u0001":5,"\"quoted\"\\":2,"<0x0A>":7,"tab\there":3,"é":4,"Ġthe":1,"▁x":6}"#), text)
    }

    func testSameBytesWhateverTheInsertionOrder() throws {
        var a: [String: Any] = [:], b: [String: Any] = [:]
        let keys = (0..<500).map { "k\($0 * 7919 % 500)é" }
        for k in keys { a[k] = k.count }
        for k in keys.reversed() { b[k] = k.count }
        XCTAssertEqual(try jsonText(a, path: "a"), try jsonText(b, path: "b"))
    }

    func testNonFiniteNumberIsNamed() {
        XCTAssertThrowsError(try jsonText(["x": [Float.nan]], path: "t.json")) {
            XCTAssertEqual($0 as? CheckpointError, .writeFailed(path: "t.json", reason: "JSON has no value for nan"))
        }
    }
}
