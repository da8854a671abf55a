import Foundation
import Kernels
import Models

/// Losses on the tape. Each returns a scalar variable `[1]` (mean over the counted rows).
extension Tape {
    /// Cross-entropy fused with softmax (`crossEntropyForward` / `crossEntropyBackward`), PyTorch
    /// `F.cross_entropy(logits, targets, ignore_index:, label_smoothing:)` with mean reduction over
    /// rows whose target is not `ignoreIndex`. `logits` is `[rows, classes]` (LM: rows = B·T).
    public func crossEntropy(_ logits: Variable, targets: [Int32], classes: Int, ignoreIndex: Int32 = -100,
                             labelSmoothing: Float = 0) -> Variable {
        let n = targets.count
        precondition(logits.count == n * classes, "crossEntropy: \(logits.count) logits for \(n) targets × \(classes)")
        var losses = zeros(n)
        let counted = crossEntropyForward(&losses, logits: logits.value, targets: targets, rows: n, vocab: classes,
                                          ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing)
        let mean = counted == 0 ? 0 : losses.reduce(0, +) / Float(counted)
        let out = output([mean], shape: [1], from: [logits])
        recordBackward(out) { dout in
            guard counted > 0 else { return }
            logits.withGrad { dl in
                guard let dl else { return }
                crossEntropyBackward(dl, logits: logits.value, targets: targets, scale: dout[0] / Float(counted), rows: n, vocab: classes,
                                     ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing)
            }
        }
        return out
    }

    /// Mean squared error `mean((x − target)²)` (regression, feature distillation).
    public func meanSquaredError(_ x: Variable, target: [Float]) -> Variable {
        precondition(x.count == target.count, "meanSquaredError: \(x.count) vs \(target.count) values")
        var s: Double = 0
        for i in 0..<x.count { let d = Double(x.value[i] - target[i]); s += d * d }
        let out = output([Float(s / Double(x.count))], shape: [1], from: [x])
        recordBackward(out) { dout in
            x.withGrad { dx in
                guard let dx else { return }
                let k = 2 * dout[0] / Float(x.count)
                for i in 0..<x.count { dx[i] += k * (x.value[i] - target[i]) }
            }
        }
        return out
    }

    /// Distillation loss with temperature τ over `[rows, classes]` logits, mean over rows, scaled by τ²
    /// (Hinton et al. 2015): soft cross-entropy `−Σ p_t·log p_s` or KL `Σ p_t·(log p_t − log p_s)`,
    /// with `p = softmax(logits/τ)`. Both have the gradient `τ·(p_s − p_t)/rows` on the student logits.
    /// Rows where `rowMask` is 0 are left out (padding).
    public func distillation(student: Variable, teacher: [Float], classes: Int, temperature: Float = 1, kl: Bool = false,
                             rowMask: [Float]? = nil) -> Variable {
        let n = student.count / classes
        precondition(teacher.count == student.count, "distillation: teacher \(teacher.count) vs student \(student.count) values")
        var ps = zeros(student.count), pt = zeros(teacher.count)
        let st = student.value.map { $0 / temperature }, tt = teacher.map { $0 / temperature }
        softmaxForward(&ps, st, rows: n, cols: classes)
        softmaxForward(&pt, tt, rows: n, cols: classes)
        var logPs = [Double](repeating: 0, count: student.count)
        logSoftmaxForward(&logPs, st, rows: n, cols: classes)
        var total: Double = 0, counted = 0
        for r in 0..<n where (rowMask?[r] ?? 1) != 0 {
            counted += 1
            for j in 0..<classes {
                let p = Double(pt[r * classes + j])
                guard p > 0 else { continue }
                let lp = logPs[r * classes + j]
                total += kl ? p * (log(p) - lp) : -p * lp
            }
        }
        let scale = temperature * temperature
        let value = counted == 0 ? 0 : Float(total / Double(counted)) * scale
        let out = output([value], shape: [1], from: [student])
        recordBackward(out) { dout in
            guard counted > 0 else { return }
            student.withGrad { ds in
                guard let ds else { return }
                let k = dout[0] * temperature / Float(counted)
                for r in 0..<n where (rowMask?[r] ?? 1) != 0 {
                    for j in 0..<classes { ds[r * classes + j] += k * (ps[r * classes + j] - pt[r * classes + j]) }
                }
            }
        }
        return out
    }

    /// Sum of scalar losses with weights (multi-task: labels + rationales, task loss + distillation).
    public func weightedSum(_ terms: [(Variable, Float)]) -> Variable {
        let value = terms.reduce(Float(0)) { $0 + $1.0.value[0] * $1.1 }
        let out = output([value], shape: [1], from: terms.map(\.0))
        recordBackward(out) { dout in
            for (v, w) in terms { v.withGrad { if let d = $0 { d[0] += dout[0] * w } } }
        }
        return out
    }
}

/// Next-token targets for a causal LM batch, as transformers' `ForCausalLMLoss`: row `b·T + t`
/// predicts `labels[b][t+1]`; the last position and padding (`attentionMask` 0) are ignored.
/// `labels` defaults to the input tokens.
public func languageModelTargets(_ input: ModelInput, labels: [[Int]]? = nil, ignoreIndex: Int32 = -100) -> [Int32] {
    let t = input.seqLen
    var out = [Int32](repeating: ignoreIndex, count: input.batchSize * t)
    for b in 0..<input.batchSize {
        for i in 0..<(t - 1) {
            let next = labels?[b][i + 1] ?? input.tokens[b][i + 1]
            let masked = input.attentionMask.map { $0[b][i + 1] == 0 } ?? false
            out[b * t + i] = (masked || next < 0) ? ignoreIndex : Int32(next)
        }
    }
    return out
}
