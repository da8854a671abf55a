import XCTest
@testable import Checkpoints

final class HeaderJSONTests: XCTestCase {
    func parse(_ text: String) throws -> HeaderJSON { try HeaderJSON.parse(bytes: Array(text.utf8)) }

    func testParsesNestedValuesKeepingKeyOrder() throws {
        let json = try parse(#" { "b" : [1, -2.5e3, true, null], "a": {"x": "\u00e9\ud83d\ude00\n"} } "#)
        XCTAssertEqual(json, .object([("b", .array([.number("1"), .number("-2.5e3"), .bool(true), .null])),
                                      ("a", .object([("x", .string("é😀\n"))]))]))
        XCTAssertEqual(json["a"]?["x"], .string("é😀\n"))
    }

    func testRejectsNumbersOutsideTheJSONGrammar() {
        for bad in ["[-]", "[01]", "[1.]", "[.5]", "[1e]", "[1e+]", "[--1]", "[1-2]", "[+1]", "[0x10]", "[Infinity]", "[NaN]"] {
            XCTAssertThrowsError(try parse(bad), bad) { XCTAssertTrue($0 is HeaderJSON.ParseError, "\(bad): \($0)") }
        }
        for good in ["[0]", "[-0]", "[1.5]", "[1E+9]", "[-12e-3]"] { XCTAssertNoThrow(try parse(good), good) }
    }

    func testReportsDuplicateKeysWithTheirEnclosingKeys() {
        XCTAssertThrowsError(try parse(#"{"a":{"x":1,"y":{"k":1,"k":2}}}"#)) { error in
            let duplicate = error as? HeaderJSON.DuplicateKey
            XCTAssertEqual(duplicate?.key, "k")
            XCTAssertEqual(duplicate?.parents, ["a", "y"])
        }
    }

    func testRejectsMalformedStringsAndNesting() {
        let cases = [#"{"a":"\x"}"#, #"{"a":"\ud800"}"#, #"{"a":"\udc00x"}"#, "{\"a\":\"\u{1}\"}", #"{"a":"open"#,
                     "{\"a\":1,}", "[1 2]", "{} {}", "tru", String(repeating: "[", count: 65) + String(repeating: "]", count: 65), ""]
        for text in cases {
            XCTAssertThrowsError(try parse(text), text) { XCTAssertTrue($0 is HeaderJSON.ParseError, "\(text): \($0)") }
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
}
