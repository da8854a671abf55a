import Foundation

/// The recipe's accuracy gate: `"gate": {"evaluation": NAME, "max_drop": X}`. `X` a number is an
/// absolute drop in the metric's own units, `"N%"` a drop relative to the original value; a drop is
/// measured in the metric's own direction (accuracy falling, perplexity rising). When the compressed
/// model loses more, the run writes its report beside the output (`<output>.gate-report/`), does not
/// publish the output folder, and `compress` exits with `GateViolation.exitCode`.
public struct Gate: Equatable, Sendable {
    public static let keys = ["evaluation", "max_drop"]
    public enum Drop: Equatable, Sendable {
        case absolute(Double)
        /// A fraction of |original| (`"5%"` → 0.05).
        case relative(Double)
    }

    /// The evaluation entry's `name` (or its shown name, `metric (file)`).
    public var evaluation: String
    public var maxDrop: Drop

    public init(evaluation: String, maxDrop: Drop) { self.evaluation = evaluation; self.maxDrop = maxDrop }

    static func parse(_ value: JSONValue) throws -> Gate {
        guard let object = value.object else { throw RecipeError.invalid(jsonPath: "gate", message: "expected an object {\"evaluation\": NAME, \"max_drop\": X}") }
        for key in object.keys.sorted() where !keys.contains(key) { throw RecipeError.unknownKey(jsonPath: "gate", key: key, known: keys) }
        guard let name = object["evaluation"]?.string, !name.isEmpty else {
            throw RecipeError.invalid(jsonPath: "gate.evaluation", message: "required: the name of an evaluation entry")
        }
        let expected = "a non-negative number (absolute) or a percentage like \"2%\" (relative)"
        let drop: Drop
        switch object["max_drop"] {
        case let .number(x)? where x >= 0 && x.isFinite: drop = .absolute(x)
        case let .string(s)?:
            guard s.hasSuffix("%"), let p = Double(s.dropLast().trimmingCharacters(in: .whitespaces)), p >= 0, p.isFinite else {
                throw RecipeError.invalid(jsonPath: "gate.max_drop", message: "expected \(expected) (got \"\(s)\")")
            }
            drop = .relative(p / 100)
        case nil: throw RecipeError.invalid(jsonPath: "gate.max_drop", message: "required: \(expected)")
        default: throw RecipeError.invalid(jsonPath: "gate.max_drop", message: "expected \(expected)")
        }
        return Gate(evaluation: name, maxDrop: drop)
    }

    var json: JSONValue {
        switch maxDrop {
        case let .absolute(x): return .object(["evaluation": .string(evaluation), "max_drop": .number(x)])
        case let .relative(f): return .object(["evaluation": .string(evaluation), "max_drop": .string("\(Self.percent(f))%")])
        }
    }

    static func percent(_ fraction: Double) -> String {
        let p = fraction * 100
        return p == p.rounded() ? String(Int(p)) : String(p)
    }

    /// The drop of `compressed` from `original` in the metric's direction (positive = worse); relative
    /// when the gate is relative.
    public func drop(original: Double, compressed: Double, higherIsBetter: Bool) -> Double {
        let loss = higherIsBetter ? original - compressed : compressed - original
        if case .relative = maxDrop { return original == 0 ? (loss > 0 ? .infinity : 0) : loss / abs(original) }
        return loss
    }

    public var limit: Double { switch maxDrop { case let .absolute(x): return x; case let .relative(f): return f } }

    /// The violation, if the compressed model lost more than allowed.
    public func check(original: Double, compressed: Double, higherIsBetter: Bool, metric: String) -> GateViolation? {
        let d = drop(original: original, compressed: compressed, higherIsBetter: higherIsBetter)
        guard d > limit || d.isNaN else { return nil }
        let shown: (Double) -> String
        if case .relative = maxDrop { shown = { String(format: "%.4g%%", $0 * 100) } } else { shown = { String(format: "%.6g", $0) } }
        return GateViolation(evaluation: evaluation, metric: metric, original: original, compressed: compressed,
                             drop: d, limit: limit, message: "gate: \(evaluation) (\(metric)) went from \(String(format: "%.6g", original)) to "
                                + "\(String(format: "%.6g", compressed)), a drop of \(shown(d)) \(higherIsBetter ? "(higher is better)" : "(lower is better)"); max_drop is \(shown(limit))")
    }
}

/// A run that failed its gate: nothing was published; the report is in `reportFolder`.
public struct GateViolation: Error, CustomStringConvertible, Equatable {
    /// `compress`'s exit code for a violated gate (1 is any other error).
    public static let exitCode: Int32 = 3
    public let evaluation: String
    public let metric: String
    public let original: Double
    public let compressed: Double
    public let drop: Double
    public let limit: Double
    public let message: String
    public var reportFolder = ""
    public var description: String { "\(message); output not written, report in \(reportFolder)" }
}
