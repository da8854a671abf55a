import Foundation
import Kernels

// GLUE-style metrics as pure functions (definitions as in scikit-learn / scipy).

/// Fraction of predictions equal to the labels.
public func accuracy(predictions: [Int], labels: [Int]) -> Double {
    precondition(predictions.count == labels.count && !labels.isEmpty)
    return Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(labels.count)
}

/// Binary F1 of class `positive`: 2·TP / (2·TP + FP + FN); 0 when there are no positives at all.
public func f1Score(predictions: [Int], labels: [Int], positive: Int = 1) -> Double {
    precondition(predictions.count == labels.count)
    var tp = 0, fp = 0, fn = 0
    for (p, l) in zip(predictions, labels) {
        if p == positive && l == positive { tp += 1 } else if p == positive { fp += 1 } else if l == positive { fn += 1 }
    }
    let denominator = 2 * tp + fp + fn
    return denominator == 0 ? 0 : Double(2 * tp) / Double(denominator)
}

/// Matthews correlation coefficient, the multiclass form (Gorodkin 2004), equal to the binary
/// (TP·TN − FP·FN)/√(…) for two classes; 0 when a marginal is constant.
public func matthewsCorrelation(predictions: [Int], labels: [Int]) -> Double {
    precondition(predictions.count == labels.count)
    let classes = Set(predictions).union(labels).sorted()
    let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
    var predicted = [Double](repeating: 0, count: classes.count), actual = predicted
    var correct = 0.0
    for (p, l) in zip(predictions, labels) {
        predicted[index[p]!] += 1; actual[index[l]!] += 1
        if p == l { correct += 1 }
    }
    let s = Double(labels.count)
    let dot = zip(predicted, actual).reduce(0) { $0 + $1.0 * $1.1 }
    let numerator = correct * s - dot
    let denominator = sqrt(s * s - predicted.reduce(0) { $0 + $1 * $1 }) * sqrt(s * s - actual.reduce(0) { $0 + $1 * $1 })
    return denominator == 0 ? 0 : numerator / denominator
}

/// Pearson correlation coefficient; 0 when either series is constant.
public func pearsonCorrelation(_ x: [Double], _ y: [Double]) -> Double {
    precondition(x.count == y.count && x.count >= 2)
    let mx = x.reduce(0, +) / Double(x.count), my = y.reduce(0, +) / Double(y.count)
    var sxy = 0.0, sxx = 0.0, syy = 0.0
    for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
    return sxx == 0 || syy == 0 ? 0 : sxy / sqrt(sxx * syy)
}

/// Spearman rank correlation: Pearson of the ranks, ties given their average rank.
public func spearmanCorrelation(_ x: [Double], _ y: [Double]) -> Double {
    pearsonCorrelation(averageRanks(x), averageRanks(y))
}

/// 1-based ranks with ties sharing their mean rank.
func averageRanks(_ values: [Double]) -> [Double] {
    let order = values.indices.sorted { values[$0] < values[$1] }
    var ranks = [Double](repeating: 0, count: values.count)
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
        for k in i...j { ranks[order[k]] = Double(i + j) / 2 + 1 }
        i = j + 1
    }
    return ranks
}

/// Exact match after trimming whitespace and collapsing inner runs of spaces (answers as generated text).
public func exactMatch(predictions: [String], references: [String]) -> Double {
    precondition(predictions.count == references.count && !references.isEmpty)
    func normalize(_ s: String) -> String { s.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
    return Double(zip(predictions, references).filter { normalize($0) == normalize($1) }.count) / Double(references.count)
}

/// KL(P‖Q) of the original model's next-token distribution P from the compressed model's Q, averaged over
/// positions. Both are `[positions, V]` logits. Computed in Double from log-softmax.
public func meanKLDivergence(original: [Float], compressed: [Float], vocab: Int) -> Double {
    precondition(original.count == compressed.count && original.count % vocab == 0 && !original.isEmpty)
    let rows = original.count / vocab
    var lp = [Double](repeating: 0, count: original.count), lq = lp
    logSoftmaxForward(&lp, original, rows: rows, cols: vocab)
    logSoftmaxForward(&lq, compressed, rows: rows, cols: vocab)
    var total = 0.0
    for i in lp.indices { total += exp(lp[i]) * (lp[i] - lq[i]) }
    return total / Double(rows)
}
