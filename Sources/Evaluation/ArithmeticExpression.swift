/// A small, safe evaluator of SVAMP equations (ALGORITHMS.md §6.1: the reference `eval`s both the
/// prediction and the label and compares the numbers). It reads only decimal numbers, `+ - * /`
/// (also `×` `÷` `−`), unary minus and parentheses — nothing else, never a general `eval`.
///
///     expr   := term (('+' | '-') term)*
///     term   := factor (('*' | '/') factor)*
///     factor := ('-' | '+') factor | number | '(' expr ')'
public struct ArithmeticError: Error, Equatable, CustomStringConvertible {
    public let expression: String
    public let reason: String
    public var description: String { "cannot evaluate '\(expression)': \(reason)" }
}

public func evaluateArithmetic(_ expression: String) throws -> Double {
    var p = ArithmeticParser(chars: Array(expression.unicodeScalars), source: expression)
    let value = try p.expression(depth: 0)
    p.skipSpaces()
    if p.i < p.chars.count { throw p.error("unexpected '\(p.chars[p.i])' at offset \(p.i) (only numbers, + − × ÷ and parentheses)") }
    return value
}

struct ArithmeticParser {
    let chars: [Unicode.Scalar]
    let source: String
    var i = 0
    static let maxDepth = 64

    func error(_ reason: String) -> ArithmeticError { ArithmeticError(expression: source, reason: reason) }

    mutating func skipSpaces() { while i < chars.count, chars[i].properties.isWhitespace { i += 1 } }

    mutating func peek() -> Unicode.Scalar? { skipSpaces(); return i < chars.count ? chars[i] : nil }

    mutating func expression(depth: Int) throws -> Double {
        guard depth < Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth) parentheses") }
        var value = try term(depth: depth)
        while let c = peek() {
            if c == "+" { i += 1; value += try term(depth: depth) }
            else if c == "-" || c == "−" { i += 1; value -= try term(depth: depth) }
            else { break }
        }
        return value
    }

    mutating func term(depth: Int) throws -> Double {
        var value = try factor(depth: depth)
        while let c = peek() {
            if c == "*" || c == "×" { i += 1; value *= try factor(depth: depth) }
            else if c == "/" || c == "÷" {
                i += 1
                let d = try factor(depth: depth)
                guard d != 0 else { throw error("division by zero") }
                value /= d
            } else { break }
        }
        return value
    }

    mutating func factor(depth: Int) throws -> Double {
        guard let c = peek() else { throw error("expression ends where a number or '(' was expected") }
        if c == "-" || c == "−" { i += 1; return -(try factor(depth: depth + 1)) }
        if c == "+" { i += 1; return try factor(depth: depth + 1) }
        if c == "(" {
            i += 1
            let v = try expression(depth: depth + 1)
            guard peek() == ")" else { throw error("missing ')'") }
            i += 1
            return v
        }
        return try number()
    }

    mutating func number() throws -> Double {
        let start = i
        var dots = 0
        while i < chars.count, ("0"..."9").contains(chars[i]) || chars[i] == "." {
            if chars[i] == "." { dots += 1 }
            i += 1
        }
        let text = String(String.UnicodeScalarView(chars[start..<i]))
        guard !text.isEmpty else { throw error("unexpected '\(chars[start])' at offset \(start) (only numbers, + − × ÷ and parentheses)") }
        guard dots <= 1, text != ".", let v = Double(text) else { throw error("'\(text)' is not a number") }
        return v
    }
}

/// SVAMP's metric: the fraction of predictions whose value equals the reference's value. A prediction
/// the evaluator refuses counts as wrong (the reference's `eval` gives NaN); values are compared after
/// rounding to 1e-6 relative, so `(84 / 2)` matches `( 84.0 / 2.0 )`.
public func equationAccuracy(predictions: [String], references: [String]) -> Double {
    precondition(predictions.count == references.count && !references.isEmpty)
    let correct = zip(predictions, references).filter { equationsEqual($0, $1) }.count
    return Double(correct) / Double(references.count)
}

/// Whether two equations evaluate to the same number (false when either is refused).
public func equationsEqual(_ a: String, _ b: String) -> Bool {
    guard let x = try? evaluateArithmetic(a), let y = try? evaluateArithmetic(b) else { return false }
    return abs(x - y) <= 1e-6 * max(1, abs(x), abs(y))
}
