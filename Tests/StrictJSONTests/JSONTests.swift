import XCTest
import StrictJSON

final class JSONTests: XCTestCase {
    func parse(_ text: String, _ options: JSONParseOptions = []) throws -> JSON { try JSON.parse(bytes: Array(text.utf8), options: options) }

    func testParsesNestedValuesKeepingKeyOrder() throws {
        let json = try parse(#" { "b" : [1, -2.5e3, true, null], "a": {"x": "\u00e9\ud83d\ude00\n"} } "#)
        XCTAssertEqual(json, .object([("b", .array([.number("1"), .number("-2.5e3"), .bool(true), .null])),
                                      ("a", .object([("x", .string("é😀\n"))]))]))
        XCTAssertEqual(json["a"]?["x"], .string("é😀\n"))
    }

    func testRejectsNumbersOutsideTheJSONGrammar() {
        for bad in ["[-]", "[01]", "[1.]", "[.5]", "[1e]", "[1e+]", "[--1]", "[1-2]", "[+1]", "[0x10]", "[Infinity]", "[NaN]"] {
            XCTAssertThrowsError(try parse(bad), bad) { XCTAssertTrue($0 is JSONParseError, "\(bad): \($0)") }
        }
        for good in ["[0]", "[-0]", "[1.5]", "[1E+9]", "[-12e-3]"] { XCTAssertNoThrow(try parse(good), good) }
    }

    func testReportsDuplicateKeysWithTheirEnclosingKeys() {
        XCTAssertThrowsError(try parse(#"{"a":{"x":1,"y":{"k":1,"k":2}}}"#)) { error in
            let duplicate = error as? JSONDuplicateKey
            XCTAssertEqual(duplicate?.key, "k")
            XCTAssertEqual(duplicate?.parents, ["a", "y"])
        }
    }

    func testRejectsMalformedStringsAndNesting() {
        let cases = [#"{"a":"\x"}"#, #"{"a":"\ud800"}"#, #"{"a":"\udc00x"}"#, "{\"a\":\"\u{1}\"}", #"{"a":"open"#,
                     "{\"a\":1,}", "[1 2]", "{} {}", "tru", String(repeating: "[", count: 65) + String(repeating: "]", count: 65), ""]
        for text in cases {
            XCTAssertThrowsError(try parse(text), text) { XCTAssertTrue($0 is JSONParseError, "\(text): \($0)") }
        }
        XCTAssertNoThrow(try parse(String(repeating: "[", count: 63) + String(repeating: "]", count: 63)))
    }

    func testAnyValueGivesFoundationTypes() throws {
        let value = try parse(#"{"n":3,"d":0.5,"b":false,"s":"x","z":null,"a":[1]}"#).anyValue as? [String: Any]
        XCTAssertEqual(value?["n"] as? Int, 3)
        XCTAssertEqual(value?["d"] as? Double, 0.5)
        XCTAssertEqual(value?["b"] as? Bool, false)
        XCTAssertEqual(value?["s"] as? String, "x")
        XCTAssertEqual((value?["a"] as? [Any])?.first as? Int, 1)
    }

    /// Errors carry the byte offset where the problem starts (recipes turn it into line:column).
    func testErrorOffsets() {
        for (text, offset) in [(#"{"a": [1, 2,]}"#, 12), (#"{"a" 1}"#, 5), (#"{"a": tru}"#, 6), ("[1] x", 4), (#"["a\u00"]"#, 7)] {
            XCTAssertThrowsError(try parse(text), text) { XCTAssertEqual(($0 as? JSONParseError)?.offset, offset, text) }
        }
        XCTAssertThrowsError(try JSON.parse(bytes: [0x5B, 0x22, 0x61, 0xFF, 0x22, 0x5D])) {
            XCTAssertEqual($0 as? JSONParseError, JSONParseError(message: "string is not valid UTF-8", offset: 1))
        }
    }

    /// Options for tokenizer files: a leading byte-order mark, and repeated keys kept in order.
    func testByteOrderMarkAndDuplicateKeysOnlyWhenAsked() throws {
        let bom = [0xEF, 0xBB, 0xBF] + Array(#"{"k":1,"k":2}"#.utf8)
        XCTAssertThrowsError(try JSON.parse(bytes: bom)) { XCTAssertEqual(($0 as? JSONParseError)?.offset, 0) }
        XCTAssertThrowsError(try JSON.parse(bytes: bom, options: .byteOrderMark)) { XCTAssertEqual($0 as? JSONDuplicateKey, JSONDuplicateKey(key: "k", parents: [])) }
        XCTAssertEqual(try JSON.parse(bytes: bom, options: [.byteOrderMark, .duplicateKeys]), .object([("k", .number("1")), ("k", .number("2"))]))
    }

    /// Canonically equivalent keys ("é" precomposed and decomposed) are one key to the duplicate
    /// check (callers key dictionaries by Swift String) but stay byte-exact in the value.
    func testCanonicallyEquivalentKeys() throws {
        let text = #"{"é": 1, "é": 2}"#
        XCTAssertThrowsError(try parse(text)) { XCTAssertTrue($0 is JSONDuplicateKey) }
        let kept = try parse(text, .duplicateKeys)
        guard case let .object(members) = kept else { return XCTFail("\(kept)") }
        XCTAssertEqual(members.map { Array($0.key.unicodeScalars).map(\.value) }, [[0xE9], [0x65, 0x301]])
        XCTAssertEqual(kept["e\u{301}"], .number("2"))
    }
}
