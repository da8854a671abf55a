import Tensors

/// The result of comparing values against a reference: nil when close, else a message naming the
/// failing stage (shape, count, or values) with the worst element and the first few values.
/// Non-finite values must match exactly: NaN only NaN, +∞ only +∞, −∞ only −∞.
public func closeness(_ actual: [Float], _ expected: [Float], shape: [Int]? = nil, expectedShape: [Int]? = nil,
                      atol: Float, rtol: Float = 0) -> String? {
    if let shape, let expectedShape, shape != expectedShape { return "shape \(shape) != expected \(expectedShape)" }
    guard actual.count == expected.count else { return "count \(actual.count) != expected \(expected.count)" }
    var worst = -1
    var worstExcess: Float = 0
    var bad = 0
    for i in 0..<actual.count {
        let a = actual[i], e = expected[i]
        // NaN matches only NaN; ±∞ matches only the same infinity (atol + rtol·∞ would otherwise accept
        // any finite value: ∞ − ∞ is NaN, and NaN > 0 is false).
        if a.isNaN || e.isNaN || a.isInfinite || e.isInfinite {
            let same = (a.isNaN && e.isNaN) || a == e
            if !same { bad += 1; if worst < 0 || worstExcess < .infinity { worst = i; worstExcess = .infinity } }
            continue
        }
        let excess = abs(a - e) - (atol + rtol * abs(e))
        if excess > 0 {
            bad += 1
            if excess > worstExcess || worst < 0 { worst = i; worstExcess = excess }
        }
    }
    guard worst >= 0 else { return nil }
    let head = (0..<min(5, actual.count)).map { "\(actual[$0]) vs \(expected[$0])" }.joined(separator: ", ")
    return "\(bad) of \(actual.count) values differ (atol \(atol), rtol \(rtol)); worst at [\(worst)]: \(actual[worst]) vs \(expected[worst]); first: \(head)"
}

/// Tensor form: compares shape, then dtype, then values.
public func closeness(_ actual: Tensor, _ expected: Tensor, atol: Float, rtol: Float = 0) -> String? {
    if actual.shape != expected.shape { return "shape \(actual.shape) != expected \(expected.shape)" }
    if actual.dtype != expected.dtype { return "dtype \(actual.dtype) != expected \(expected.dtype)" }
    return closeness(actual.floats(), expected.floats(), atol: atol, rtol: rtol)
}
