import Datasets
import Foundation
import Kernels

/// One forward window of the sliding-window perplexity: tokens `begin..<end` go in, and the tokens at
/// absolute positions `firstTarget..<end` are scored (each predicted from the position before it).
public struct PerplexityWindow: Equatable, Sendable {
    public var begin: Int
    public var end: Int
    public var firstTarget: Int
    public var predicted: Int { end - firstTarget }
}

/// The windows transformers' perplexity recipe uses ("Perplexity of fixed-length models"): windows of
/// `seqLen` tokens starting every `stride` tokens, each scoring only the tokens the previous window did not
/// reach (`labels[:, :-trg_len] = -100`), the last window cut at the end of the stream.
/// With `stride == seqLen` the windows do not overlap and each predicts its `seqLen − 1` next tokens.
public func perplexityWindows(tokenCount n: Int, seqLen: Int, stride: Int) -> [PerplexityWindow] {
    precondition(seqLen >= 2 && stride >= 1 && stride <= seqLen)
    var windows: [PerplexityWindow] = []
    var previousEnd = 0
    var begin = 0
    while begin < n {
        let end = min(begin + seqLen, n)
        let firstTarget = max(begin + 1, previousEnd)   // position `begin` has no prediction inside its window
        if firstTarget < end { windows.append(PerplexityWindow(begin: begin, end: end, firstTarget: firstTarget)) }
        previousEnd = end
        if end == n { break }
        begin += stride
    }
    return windows
}

/// Sum of −log softmax(logits[t−1])[ids[t]] over t in `firstTarget..<ids.count` (positions relative to the
/// window). `logits` is `[T, V]` row-major for the T = ids.count window tokens. Accumulates in Double.
/// Rows run in parallel (one log-sum-exp over the vocabulary each); the sum is taken in row order, so
/// the result does not depend on the thread count.
public func windowNLL(logits: [Float], vocab: Int, ids: [Int32], firstTarget: Int) -> Double {
    precondition(logits.count == ids.count * vocab && firstTarget >= 1)
    guard firstTarget < ids.count else { return 0 }
    var nll = [Double](repeating: 0, count: ids.count - firstTarget)
    logits.withUnsafeBufferPointer { l in
        nll.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            parallelRanges(ids.count - firstTarget, costPerItem: vocab) { start, end in
                for i in start..<end {
                    let t = firstTarget + i
                    let row = l.baseAddress! + (t - 1) * vocab   // log_softmax(row)[id] without materialising the row
                    out[i] = logSumExpFast(row, cols: vocab) - Double(row[Int(ids[t])])
                }
            }
        }
    }
    return nll.reduce(0, +)
}

/// Mean negative log-likelihood over `count` predicted tokens, and its exponential.
public struct PerplexityResult: Codable, Equatable, Sendable {
    public var nllSum: Double
    public var count: Int
    public var windows: Int
    public var perplexity: Double { exp(nllSum / Double(count)) }
    public var meanNLL: Double { nllSum / Double(count) }
}

/// `perplexityWindows` after checking the arguments a user gives (`seq_len`, `stride`) and that the
/// stream in `file` fills at least one window.
public func checkedPerplexityWindows(tokenCount: Int, seqLen: Int, stride: Int?, file: String) throws -> [PerplexityWindow] {
    guard seqLen >= 2 else { throw EvaluationError.invalidArgument(message: "seq_len must be at least 2 (got \(seqLen))") }
    if let stride, !(1...seqLen).contains(stride) {
        throw EvaluationError.invalidArgument(message: "stride must be from 1 to seq_len \(seqLen) (got \(stride))")
    }
    guard tokenCount >= seqLen else { throw DatasetError.tooShortForWindow(file: file, tokens: tokenCount, seqLen: seqLen) }
    return perplexityWindows(tokenCount: tokenCount, seqLen: seqLen, stride: stride ?? seqLen)
}

/// Perplexity of a token stream. `logits(ids)` runs the model on one window and returns `[T, V]` logits.
/// Throws when the stream is shorter than one window of `seqLen` tokens.
public func perplexity(of stream: [Int32], seqLen: Int, stride: Int? = nil, vocab: Int, file: String,
                       logits: ([Int32]) throws -> [Float]) throws -> PerplexityResult {
    let windows = try checkedPerplexityWindows(tokenCount: stream.count, seqLen: seqLen, stride: stride, file: file)
    return perplexityResult(try windows.map { w in
        let ids = Array(stream[w.begin..<w.end])
        return .window(nll: windowNLL(logits: try logits(ids), vocab: vocab, ids: ids, firstTarget: w.firstTarget - w.begin), count: w.predicted)
    })
}
