import Foundation
import Kernels

/// How far a pruned model's output distribution is from the unpruned one (ALGORITHMS.md §2.2).
public enum OutputDivergence: String, Codable, Sendable, CaseIterable {
    /// The reference code's `js_divergence`: ½[KL(M‖P) + KL(M‖Q)] with PyTorch "mean" reduction,
    /// i.e. averaged over all B·T·V elements (reverse-direction mixture divergence).
    case referenceJS = "reference_js"
    /// Textbook Jensen–Shannon ½[KL(P‖M) + KL(Q‖M)], averaged over positions.
    case js
    /// `mean(acos(clamp(cos(Z_ref, Z), 0, 1)))` of the logit vectors over positions.
    case angular
}

/// Log-softmax of each row of `logits[rows, v]`, in Double (`logSoftmaxForward`).
public func logSoftmaxRows(_ logits: [Float], rows: Int, vocab v: Int) -> [Double] {
    precondition(logits.count == rows * v)
    var out = [Double](repeating: 0, count: rows * v)
    logSoftmaxForward(&out, logits, rows: rows, cols: v)
    return out
}

/// Divergence of `candidate` logits from the reference (both `[rows, v]`). `referenceLogProbs` is
/// `logSoftmaxRows(reference)`, computed once per calibration set.
public func outputDivergence(_ kind: OutputDivergence, reference: [Float], referenceLogProbs: [Double],
                             candidate: [Float], rows: Int, vocab v: Int) -> Double {
    precondition(reference.count == rows * v && candidate.count == rows * v && referenceLogProbs.count == rows * v)
    switch kind {
    case .angular:
        var total = 0.0
        for r in 0..<rows {
            var dot = 0.0, na = 0.0, nb = 0.0
            for j in 0..<v {
                let a = Double(reference[r * v + j]), b = Double(candidate[r * v + j])
                dot += a * b; na += a * a; nb += b * b
            }
            let cosine = dot / max((na * nb).squareRoot(), 1e-12)
            total += acos(min(max(cosine, 0), 1))
        }
        return total / Double(rows)
    case .referenceJS, .js:
        let logQ = logSoftmaxRows(candidate, rows: rows, vocab: v)
        var total = 0.0
        for i in 0..<(rows * v) {
            let lp = referenceLogProbs[i], lq = logQ[i]
            let p = exp(lp), q = exp(lq), m = 0.5 * (p + q)
            guard m > 0 else { continue }
            let lm = log(m)
            if kind == .referenceJS {
                total += m * (lm - lp) + m * (lm - lq)
            } else {
                if p > 0 { total += p * (lp - lm) }
                if q > 0 { total += q * (lq - lm) }
            }
        }
        // referenceJS: each KL is a mean over all rows·v elements; js: a sum over v averaged over rows.
        return 0.5 * total / Double(kind == .referenceJS ? rows * v : rows)
    }
}
