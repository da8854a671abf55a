import Foundation
import Checkpoints
import Kernels
import Models
import Training

/// Pass `clipped_softmax` (Bondarenko et al. 2023, ALGORITHMS.md §3.1): every layer normalises its
/// attention with `clip((ζ − γ)·softmax + γ, 0, 1)` — by default γ = −α / T_max, ζ = 1 with T_max the
/// training sequence length — so a head can give exact zeros and "do nothing" without pushing its
/// scores to extremes. The section `whittle.attention` records it (our runtime runs it in every
/// forward); then the model is trained on the recipe's training data (`finetune`'s keys).
public struct ClippedSoftmax: Pass, Equatable {
    public static let kind = "clipped_softmax"
    public static var category: PassCategory { .training }
    public var needs: PassNeeds { .training }

    /// α of the reference's `--alpha` (the OPT script: 12).
    public var alpha: Float = 12
    /// T_max; nil: the longest training example (after `max_length`).
    public var maxSeqLength: Int?
    /// Explicit γ, ζ (the BERT script: −0.025, 1) instead of α.
    public var gamma: Float?
    public var zeta: Float?
    public var training = FineTuning.attentionDefaults
    /// `"init": "scratch"` (+ `"config"` overrides): start from a freshly initialised model.
    var scratch = ScratchInit()

    enum CodingKeys: String, CodingKey, CaseIterable { case alpha, maxSeqLength = "max_seq_length", gamma, zeta }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try attentionPassKeys(decoder, CodingKeys.self)
        try c.update(&alpha, .alpha)
        try c.update(&maxSeqLength, .maxSeqLength)
        try c.update(&gamma, .gamma)
        try c.update(&zeta, .zeta)
        try training.update(from: decoder)
        scratch = try ScratchInit(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(alpha, forKey: .alpha)
        try c.encodeIfPresent(maxSeqLength, forKey: .maxSeqLength)
        try c.encodeIfPresent(gamma, forKey: .gamma)
        try c.encodeIfPresent(zeta, forKey: .zeta)
        try training.encodeTrainingKeys(to: encoder)
        try scratch.encode(to: encoder)
    }

    public func validate(path: String) throws {
        guard alpha >= 0, alpha.isFinite else { throw PassError("\(path).alpha", "must be ≥ 0 (got \(alpha))") }
        if let t = maxSeqLength, t <= 0 { throw PassError("\(path).max_seq_length", "must be positive (got \(t))") }
        if (gamma == nil) != (zeta == nil) { throw PassError("\(path).gamma", "give gamma and zeta together (or alpha alone)") }
        if let gamma, let zeta, !(gamma <= 0 && zeta >= 1) {
            throw PassError("\(path).gamma", "needs γ ≤ 0 and ζ ≥ 1 (got γ = \(gamma), ζ = \(zeta))")
        }
        try training.validate(path: path)
        try scratch.validate(path: path)
    }

    /// The normaliser settings for training examples of at most `longest` tokens.
    func settings(longest: Int) -> WhittleConfig.AttentionSettings {
        if let gamma, let zeta { return .init(normaliser: "clipped_softmax", gamma: gamma, zeta: zeta) }
        let t = maxSeqLength ?? min(longest, training.maxLength ?? longest)
        guard case let .clippedSoftmax(g, z) = AttentionVariant.clippedSoftmax(alpha: alpha, maxSeqLength: t) else { preconditionFailure() }
        return .init(normaliser: "clipped_softmax", gamma: g, zeta: z, alpha: alpha, maxSeqLength: t)
    }

    public func apply(to model: EditableCheckpoint, context: PassContext) throws -> PassReport {
        try validate(path: Self.kind)
        guard !context.training.isEmpty else {
            throw PassError(Self.kind, "needs training examples: add a \"training\" data section to the recipe")
        }
        let fresh = try scratch.apply(to: model, seed: context.seed, kind: Self.kind)
        let s = settings(longest: context.training.map(\.ids.count).max()!)
        try editWhittle(model) { $0.attention = s }
        var report = try training.train(model, context: context, kind: Self.kind)
        report.kind = Self.kind
        let form = s.alpha.map { String(format: "α = %g, T_max = %d: ", Double($0), s.maxSeqLength!) } ?? ""
        report.summary = String(format: "clipped softmax (%@γ = %g, ζ = %g) in every layer; ", form, Double(s.gamma!), Double(s.zeta!)) + report.summary
        report.metrics["gamma"] = Double(s.gamma!); report.metrics["zeta"] = Double(s.zeta!)
        let stock = try stockLoaderDifference(model, examples: context.training) { _, options in options.attention = .standard }
        report.recordStockLoader(stock, examples: min(8, context.training.count), declared: "config.json whittle.attention records the normaliser",
                                 what: "compute plain softmax instead")
        if !fresh.isEmpty {
            report.metrics["scratch_init_tensors"] = Double(fresh.count)
            report.notes.insert("init scratch: all \(fresh.count) tensors freshly initialised (N(0, initializer_range²) matrices, norms 1, biases 0)"
                                + (scratch.config.map { " with config overrides \($0.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))" } ?? "")
                                + " before training; the comparison's \"original\" is the input model", at: 0)
        }
        return report
    }
}
