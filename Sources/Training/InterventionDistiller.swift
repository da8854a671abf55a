import Kernels
import Models

/// Fake quantization of a QAT student (ALGORITHMS.md §4.1) as forward options: every block
/// projection's weight through `weights` (`weightTransform`, straight-through, zero gradient outside
/// the clip) and `activations` at every quantized linear's input and on q, k, v and the
/// probabilities inside attention (`SiteHook(.transform)` with `SiteTransform.fakeQuantize`).
/// The word embedding (TI: the weight quantizer per row) and the pooler (per tensor), which the
/// block's weight hook does not reach, go through `parameterTransforms` (training only; the
/// eager `options` leave them alone). The pooler's input is not quantized.
public struct StudentQuantization: Sendable, Equatable {
    public var weights: Quantizer?
    public var activations: Quantizer?
    public var tokenEmbedding: Quantizer?
    public var pooler: Quantizer?

    public init(weights: Quantizer?, activations: Quantizer?, tokenEmbedding: Quantizer? = nil, pooler: Quantizer? = nil) {
        self.weights = weights; self.activations = activations; self.tokenEmbedding = tokenEmbedding; self.pooler = pooler
    }

    /// The token table and the pooler weight with their fake quantization (STE), for
    /// `TrainableModel.forward(_:options:detachingInputsOf:transforming:tape:)`.
    public func parameterTransforms(_ model: TransformerModel) -> [(Variable, SiteTransform)] {
        var out: [(Variable, SiteTransform)] = []
        if let q = tokenEmbedding, model.embeddings.tokenParameter.count > 0 { out.append((model.embeddings.tokenParameter, .fakeQuantize(q))) }
        if let q = pooler, let p = model.head.pooler as? Linear { out.append((p.weightParameter, .fakeQuantize(q))) }
        return out
    }

    /// TI's student: weights ternary (TWN, per layer) for `bits` 2 — or symmetric `bits`-bit per
    /// tensor — clamped to ±`clip` first; activations 8-bit symmetric dynamic per tensor, ±`clip`.
    public static func ti(weightBits bits: Int, ternary: Bool = true, clip: Float = 2.5, activationBits: Int? = 8) -> StudentQuantization {
        let w: Quantizer = ternary && bits == 2 ? .ternary(.tensor, clip: clip) : .symmetric(bits: bits, .tensor, clip: clip)
        var rows = w
        rows.granularity = .row
        return StudentQuantization(weights: w, activations: activationBits.map { .symmetric(bits: $0, .tensor, clip: clip) },
                                   tokenEmbedding: rows, pooler: w)
    }

    /// Inputs of the block's linears (q/k/v, o, gate/up, down).
    public static let linearInputs: Set<CapturePoint> = [.attentionInput, .attentionContext, .ffnInput, .ffnActivation]
    /// Inside attention: q and k before q·kᵀ, the probabilities and v before the mix.
    public static let attentionValues: Set<CapturePoint> = [.query, .key, .value, .probabilities]

    public var hooks: [SiteHook] {
        guard let a = activations else { return [] }
        let t = SiteTransform.fakeQuantize(a)
        return [SiteHook(Self.linearInputs.union(Self.attentionValues), .transform { _ in t })]
    }

    public var weightTransform: ((LinearSite) -> SiteTransform?)? {
        guard let w = weights else { return nil }
        let t = SiteTransform.fakeQuantize(w)
        return { _ in t }
    }

    /// Options of a plain (evaluation) forward of the quantized student.
    public var options: ForwardOptions { ForwardOptions(hooks: hooks, weightTransform: weightTransform) }
}

/// One distillation step's loss for a (fake-quantized) student against a full-precision teacher on
/// the same batch, with an optional teacher intervention (ALGORITHMS.md §4.2–4.3). Set
/// `Trainer.loss` to `{ distiller.loss($0, $1, $2, intervention: …) }`.
public final class InterventionDistiller {
    public let teacher: TransformerModel
    public var objective: DistillationObjective
    public var quantization: StudentQuantization
    /// The terms of the most recent `loss` call.
    public private(set) var lastTerms = DistillationTerms()

    public init(teacher: TransformerModel, objective: DistillationObjective = DistillationObjective(),
                quantization: StudentQuantization = StudentQuantization(weights: nil, activations: nil)) {
        self.teacher = teacher; self.objective = objective; self.quantization = quantization
    }

    /// The teacher's eager forward (no tape: no gradient) with what the loss and the intervention read.
    public func teacherForward(_ input: ModelInput, intervention: TeacherIntervention) throws -> ForwardOutput {
        var sites = objective.sites(teacher)
        if let s = intervention.replacedSite { sites.insert(s) }
        return try teacher.forward(input, options: ForwardOptions(capture: sites))
    }

    /// The student's options: the intervention's replacement first (so a replaced probability or
    /// context is then quantized, as TI), then the fake quantization, and the loss's captures.
    public func studentOptions(intervention: TeacherIntervention, teacher t: ForwardOutput, student: TransformerModel) -> ForwardOptions {
        var o = quantization.options
        if let h = intervention.hook(teacher: t) { o.hooks.insert(h, at: 0) }
        o.capture = objective.sites(student)
        // TI's L_out for post-norm BERT is on the attention sublayer's output itself; the 8-bit
        // quantization at `.ffnInput` belongs to the FFN's first linear only.
        if objective.attentionOutput != 0, objective.outputPoint(student) == .ffnInput { o.captureBeforeHooks = [.ffnInput] }
        return o
    }

    public func loss(_ student: TrainableModel, _ batch: TrainingBatch, _ tape: Tape,
                     intervention: TeacherIntervention = .none) throws -> Variable {
        let t = try teacherForward(batch.input, intervention: intervention)
        let options = studentOptions(intervention: intervention, teacher: t, student: student.model)
        let s = try student.forward(batch.input, options: options, detachingInputsOf: intervention.detachedInputs,
                                    transforming: quantization.parameterTransforms(student.model), tape: tape)
        let (l, terms) = try tape.distillationLoss(student: s, teacher: t, model: student.model, objective: objective, batch: batch)
        lastTerms = terms
        return l
    }
}
