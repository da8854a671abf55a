import Foundation
import XCTest
@testable import Tokenizers

final class JSONNodeTests: XCTestCase {
    func parse(_ s: String) throws -> JSONNode { try JSONNode.parse(data: Data(s.utf8), file: "t.json") }

    func testStringsKeepBOMEscapesAndSurrogatePairs() throws {
        let node = try parse(#"{"a": ["\ufeffx", "\u00e9\n\"\\\/", "\ud83d\ude00", "\ufeffraw"]}"#.replacingOccurrences(of: "\\ufeffraw", with: "\u{feff}raw"))
        let items = try node.required("a").array().map { try $0.string() }
        XCTAssertEqual(items.map { Array($0.unicodeScalars).map(\.value) }, [
            [0xFEFF, 0x78], [0xE9, 0x0A, 0x22, 0x5C, 0x2F], [0x1F600], [0xFEFF, 0x72, 0x61, 0x77]])
    }

    /// "é" and "e\u0301" are equal Swift Strings but distinct vocabulary entries.
    func testCanonicallyEquivalentKeysStayDistinct() throws {
        let tok = try Tokenizer(jsonData: Data(#"{"model": {"type": "WordLevel", "vocab": {"\u00e9": 0, "e\u0301": 1, "[UNK]": 2}, "unk_token": "[UNK]"}}"#.utf8))
        XCTAssertEqual(tok.encode("\u{e9}"), [0])
        XCTAssertEqual(tok.encode("e\u{301}"), [1])
        XCTAssertEqual(tok.idToToken(1)?.unicodeScalars.count, 2)
    }

    func testSyntaxErrorsNameTheByteOffset() throws {
        for (text, offset) in [(#"{"a": [1, 2,]}"#, 12), (#"{"a" 1}"#, 5), (#"{"a": tru}"#, 6), ("[1] x", 4)] {
            XCTAssertThrowsError(try parse(text), text) { error in
                guard case let .malformedJSON(file, path, problem)? = error as? TokenizerError else { return XCTFail("\(error)") }
                XCTAssertEqual(file, "t.json")
                XCTAssertEqual(path, "")
                XCTAssertTrue(problem.hasSuffix("at byte \(offset)"), "\(text): \(problem)")
            }
        }
    }

    func testNumbersAndLiterals() throws {
        let node = try parse(#"{"i": -12, "d": 2.5e-1, "t": true, "n": null}"#)
        XCTAssertEqual(try node.required("i").int(), -12)
        XCTAssertEqual(try node.required("d").double(), 0.25)
        XCTAssertEqual(try node.required("t").bool(), true)
        XCTAssertNil(node["n"])
        XCTAssertThrowsError(try node.required("d").int())
    }
}
