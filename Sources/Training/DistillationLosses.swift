import Kernels
import Models

/// The TernaryBERT / Teacher-Intervention distillation objective (ALGORITHMS.md §4.2):
///
///     L = w_pred·L_pred + w_rep·L_rep + w_attn·L_attn + w_out·L_out (+ w_gt·L_gt, off by default)
///     L_pred = mean_b Σ_c −softmax(z_T)_c · log_softmax(z_S)_c     (MSE on the logits for regression)
///     L_rep  = Σ_{l=0..L} MSE(h_S^l, h_T^l)       embedding output + every block output
///     L_attn = Σ_l MSE(A_S^l, A_T^l)              pre-softmax scores, entries ≤ −100 set to 0 on each side
///     L_out  = Σ_l MSE(o_S^l, o_T^l)              attention sublayer output
///
/// MSE is the mean over every element (PyTorch `nn.MSELoss()`), padding included, as TI's `main.py`.
/// The student's sites are tape variables (`TrainingForward.captures`), the teacher's come from an
/// eager forward (`TransformerModel.forward`, no tape: no gradient reaches the teacher).
public struct DistillationObjective: Sendable, Equatable {
    public var prediction: Float = 1
    public var hidden: Float = 1
    public var scores: Float = 1
    public var attentionOutput: Float = 1
    /// Cross-entropy on the labels (MSE for regression); 0 as TernaryBERT/TI.
    public var groundTruth: Float = 0
    /// Scores at or below this are masked (`-∞` here, `-10000` or `finfo.min` in PyTorch) and count as 0.
    public var maskedScore: Float = -100
    /// Where L_out reads "the attention sublayer output". nil: TI's definition — after the residual
    /// and LayerNorm — which is the FFN's input for post-norm BERT (`.ffnInput`); for pre-norm
    /// families the output projection's result `.attentionOutput` (the residual stream is not normalised).
    public var outputSite: CapturePoint?

    public init() {}

    public func outputPoint(_ model: TransformerModel) -> CapturePoint {
        if let outputSite { return outputSite }
        return model.layers.first?.placement == .post ? .ffnInput : .attentionOutput
    }

    /// Sites both forwards must record for this objective.
    public func sites(_ model: TransformerModel) -> Set<CapturePoint> {
        var s: Set<CapturePoint> = []
        if hidden != 0 { s.formUnion([.embeddings, .blockOutput]) }
        if scores != 0 { s.insert(.scores) }
        if attentionOutput != 0 { s.insert(outputPoint(model)) }
        return s
    }
}

/// The value of each term of one distillation loss (for the report's curves).
public struct DistillationTerms: Sendable, Equatable, Codable {
    public var prediction: Float = 0, hidden: Float = 0, scores: Float = 0, attentionOutput: Float = 0, groundTruth: Float = 0
    public var total: Float { prediction + hidden + scores + attentionOutput + groundTruth }
}

extension Tape {
    /// `mean((x' − t')²)` where `x' = 0` where `x ≤ threshold` and `t' = 0` where `t ≤ threshold`
    /// (TinyBERT/TernaryBERT's attention-score loss: masked entries are `torch.where(a <= -1e2, 0, a)`).
    /// Masked student entries get no gradient.
    public func maskedMeanSquaredError(_ x: Variable, target: [Float], threshold: Float = -100) -> Variable {
        precondition(x.count == target.count, "maskedMeanSquaredError: \(x.count) vs \(target.count) values")
        @inline(__always) func keep(_ v: Float) -> Float { v <= threshold ? 0 : v }
        var s: Double = 0
        for i in 0..<x.count { let d = Double(keep(x.value[i]) - keep(target[i])); s += d * d }
        let out = output([Float(s / Double(x.count))], shape: [1], from: [x])
        recordBackward(out) { dout in
            x.withGrad { dx in
                guard let dx else { return }
                let k = 2 * dout[0] / Float(x.count)
                for i in 0..<x.count where x.value[i] > threshold { dx[i] += k * (x.value[i] - keep(target[i])) }
            }
        }
        return out
    }

    /// The distillation objective of `student` (a taped forward with `objective.sites(model)` captured)
    /// against `teacher` (an eager forward of the same batch with the same captures). `layers` lists
    /// the layers whose sites count (every layer of the student). Returns the scalar loss and its terms.
    public func distillationLoss(student: TrainingForward, teacher: ForwardOutput, model: TransformerModel,
                                 objective: DistillationObjective = DistillationObjective(),
                                 batch: TrainingBatch? = nil) throws -> (loss: Variable, terms: DistillationTerms) {
        var parts: [(Variable, Float)] = []
        var terms = DistillationTerms()
        func site(_ key: CaptureKey) throws -> (Variable, [Float]) {
            guard let s = student.captures[key] else { throw TrainingError.invalidBatch(reason: "distillation: the student forward did not capture \(key)") }
            guard let t = teacher.captures[key] else { throw TrainingError.invalidBatch(reason: "distillation: the teacher forward did not capture \(key)") }
            guard s.count == t.values.count else {
                throw TrainingError.invalidBatch(reason: "distillation: \(key) has \(s.count) student and \(t.values.count) teacher values")
            }
            return (s, t.values)
        }
        if objective.prediction != 0 {
            guard student.logits.count == teacher.logits.count else {
                throw TrainingError.invalidBatch(reason: "distillation: \(student.logits.count) student and \(teacher.logits.count) teacher logits")
            }
            let classes = student.shape.last!
            let l = batch?.regression != nil || classes == 1
                ? meanSquaredError(student.logits, target: teacher.logits)
                : distillation(student: student.logits, teacher: teacher.logits, classes: classes)
            parts.append((l, objective.prediction)); terms.prediction = objective.prediction * l.value[0]
        }
        let layers = model.layers.map(\.index)
        func sum(_ keys: [CaptureKey], weight: Float, masked: Bool) throws -> Float {
            var total: Float = 0
            for key in keys {
                let (s, t) = try site(key)
                let l = masked ? maskedMeanSquaredError(s, target: t, threshold: objective.maskedScore) : meanSquaredError(s, target: t)
                parts.append((l, weight)); total += weight * l.value[0]
            }
            return total
        }
        if objective.hidden != 0 {
            let keys = [CaptureKey(layer: 0, point: .embeddings)] + layers.map { CaptureKey(layer: $0, point: .blockOutput) }
            terms.hidden = try sum(keys, weight: objective.hidden, masked: false)
        }
        if objective.scores != 0 {
            terms.scores = try sum(layers.filter { model.layers[$0].heads > 0 }.map { CaptureKey(layer: $0, point: .scores) },
                                   weight: objective.scores, masked: true)
        }
        if objective.attentionOutput != 0 {
            let p = objective.outputPoint(model)
            terms.attentionOutput = try sum(layers.map { CaptureKey(layer: $0, point: p) }, weight: objective.attentionOutput, masked: false)
        }
        if objective.groundTruth != 0, let batch {
            let classes = student.shape.last!
            let l = batch.regression.map { meanSquaredError(student.logits, target: $0) }
                ?? crossEntropy(student.logits, targets: batch.targets, classes: classes)
            parts.append((l, objective.groundTruth)); terms.groundTruth = objective.groundTruth * l.value[0]
        }
        return (weightedSum(parts), terms)
    }
}
