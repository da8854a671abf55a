import Foundation
import TestSupport
import XCTest
@testable import Evaluation

/// The safe SVAMP evaluator against Python's `eval` (tools/reference/svamp_arithmetic_reference.py).
final class ArithmeticTests: XCTestCase {
    func testValuesMatchPythonEval() throws {
        let path = try Fixtures.required("distill/arithmetic_reference.json", regenerate: "/root/venv/bin/python tools/reference/svamp_arithmetic_reference.py")
        let ref = try Fixtures.readJSON(path) as! [String: [[String: Any]]]
        let all = ref["cases"]! + ref["svamp_test_labels"]!
        XCTAssertEqual(all.count, 213)
        for c in all {
            let e = c["expression"] as! String
            XCTAssertEqual(try evaluateArithmetic(e), c["value"] as! Double, accuracy: 1e-9 * max(1, abs(c["value"] as! Double)), e)
        }
    }

    func testNestedDecimalDivision() throws {
        XCTAssertEqual(try evaluateArithmetic("( 0.5 * ( 12.0 - ( 3.0 + 1.0 ) ) )"), 4)
        XCTAssertEqual(try evaluateArithmetic("8 / 4 / 2"), 1, "division is left-associative")
        XCTAssertEqual(try evaluateArithmetic("7 − 2 × 3 ÷ 2"), 4, "the typographic operators")
        XCTAssertTrue(equationsEqual("(84 / 2)", "( 84.0 / 2.0 )"))
        XCTAssertFalse(equationsEqual("(84 / 2)", "(84 * 2)"))
        XCTAssertEqual(equationAccuracy(predictions: ["(1 + 1)", "import os", "(3)"], references: ["2", "2", "( 1.5 * 2 )"]), 2.0 / 3.0)
    }

    func testRefusesEverythingElse() {
        let cases: [(String, String)] = [
            ("__import__('os')", "unexpected '_' at offset 0 (only numbers, + − × ÷ and parentheses)"),
            ("2 ** 3", "unexpected '*' at offset 3 (only numbers, + − × ÷ and parentheses)"),
            ("(10 - (3 + 6)", "missing ')'"),
            ("1 / (2 - 2)", "division by zero"),
            ("1.2.3", "'1.2.3' is not a number"),
            ("3 +", "expression ends where a number or '(' was expected"),
            ("x + 1", "unexpected 'x' at offset 0 (only numbers, + − × ÷ and parentheses)"),
            ("2 3", "unexpected '3' at offset 2 (only numbers, + − × ÷ and parentheses)"),
            (String(repeating: "(", count: 100) + "1" + String(repeating: ")", count: 100), "nested deeper than 64 parentheses"),
        ]
        for (e, reason) in cases {
            XCTAssertThrowsError(try evaluateArithmetic(e), e) { XCTAssertEqual($0 as? ArithmeticError, ArithmeticError(expression: e, reason: reason)) }
        }
    }
}
