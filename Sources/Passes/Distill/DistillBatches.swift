import Datasets
import Evaluation
import Models
import Training

// The math of distilling step-by-step (Hsieh et al. 2023, ALGORITHMS.md §6.1) for a decoder student:
// every task is a prompt + target sequence, trained with cross-entropy on the target tokens only.

/// One training sequence: the prompt (e.g. "predict: " + x + "\n") and the target (label or rationale + EOS).
public struct PromptTarget: Equatable, Sendable {
    public var prompt: [Int32]
    public var target: [Int32]
    public init(prompt: [Int32], target: [Int32]) { self.prompt = prompt; self.target = target }
    public var ids: [Int32] { prompt + target }
}

/// Next-token targets of right-padded prompt + target rows: row `b·T + t` predicts token `t + 1` only when
/// that token is a target token; prompt tokens and padding are ignored (-100). Rows not in `counted` are
/// ignored entirely (the other task of a multi-task batch).
public func targetOnlyLabels(_ pairs: [PromptTarget], seqLen t: Int, counted: Range<Int>? = nil) -> [Int32] {
    var out = [Int32](repeating: -100, count: pairs.count * t)
    for (b, p) in pairs.enumerated() where counted?.contains(b) ?? true {
        let ids = p.ids
        for i in max(0, p.prompt.count - 1)..<min(ids.count - 1, t - 1) { out[b * t + i] = ids[i + 1] }
    }
    return out
}

/// A single-task batch: loss on the target tokens, the mean over all of them.
public func promptTargetBatch(_ pairs: [PromptTarget], padId: Int) -> TrainingBatch {
    let input = ModelInput(padding: pairs.map { $0.ids.map(Int.init) }, padId: padId)
    return TrainingBatch(input: input, targets: targetOnlyLabels(pairs, seqLen: input.seqLen))
}

/// The multi-task batch of §6.1: the label task's rows then the rationale task's, padded together and run
/// in one forward. `targets` holds the label task's targets (rationale rows ignored) followed by the
/// rationale task's (label rows ignored), so each task's cross-entropy is its own token mean.
public func multiTaskBatch(labels: [PromptTarget], rationales: [PromptTarget], padId: Int) -> TrainingBatch {
    let all = labels + rationales
    let input = ModelInput(padding: all.map { $0.ids.map(Int.init) }, padId: padId)
    let t = input.seqLen
    let labelTargets = targetOnlyLabels(all, seqLen: t, counted: 0..<labels.count)
    let rationaleTargets = targetOnlyLabels(all, seqLen: t, counted: labels.count..<all.count)
    return TrainingBatch(input: input, targets: labelTargets + rationaleTargets)
}

/// L = α·CE(label task) + (1 − α)·CE(rationale task) on a `multiTaskBatch` (each CE the mean over its
/// task's target tokens, as the T5 reference's per-batch mean).
public func multiTaskLoss(_ model: TrainableModel, _ batch: TrainingBatch, _ tape: Tape, alpha: Float) throws -> Variable {
    let out = try model.forward(batch.input, options: ForwardOptions(), tape: tape)
    let vocab = out.shape.last!
    let rows = out.logits.count / vocab
    precondition(batch.targets.count == 2 * rows, "multiTaskLoss: expected label + rationale targets for \(rows) rows")
    let label = tape.crossEntropy(out.logits, targets: Array(batch.targets[..<rows]), classes: vocab)
    let rationale = tape.crossEntropy(out.logits, targets: Array(batch.targets[rows...]), classes: vocab)
    return tape.weightedSum([(label, alpha), (rationale, 1 - alpha)])
}

/// Whether a generated label is right: SVAMP compares the equations' values (`equationsEqual`), the
/// other tasks exact match after whitespace normalisation.
public func labelCorrect(_ prediction: String, _ reference: String, task: RationaleTask) -> Bool {
    switch task {
    case .svamp: return equationsEqual(prediction, reference)
    case .cqa, .jsonl: return exactMatch(predictions: [prediction], references: [reference]) == 1
    }
}
