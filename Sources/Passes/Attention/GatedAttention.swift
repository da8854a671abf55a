import Foundation
import Checkpoints
import Models
import Tensors
import Training

/// Pass `gated_attention` (Bondarenko et al. 2023, ALGORITHMS.md §3.2): adds to every layer a gate
/// `π = sigmoid(G_h(x_h))` per head (and token) that scales the head's context before the output
/// projection, so a head can switch itself off without an outlier. The gate tensors
/// (`<layer>.self_attn.gate.*`) are added to the checkpoint and `whittle.attention_gate` declares
/// them; then the model is trained on the recipe's training data (`finetune`'s keys). Converting a
/// pretrained model uses fine-tuning mode (default): small gate weights, bias logit(π_init) and the
/// output × 1/π_init, so the converted model starts out computing what the original did.
public struct GatedAttention: Pass, Equatable {
    public static let kind = "gated_attention"
    public static var category: PassCategory { .training }
    public var needs: PassNeeds { .training }

    public var gateType: AttentionGateSettings.Kind = .conditionalPerToken
    public var network: AttentionGateSettings.Network = .linear
    /// π_init (the OPT scripts: 0.25).
    public var piInit: Float = 0.25
    public var fineTuning = true
    /// Fine-tuning mode's weight std; nil: 0.001 for decoders (OPT), 0.01 for encoders (BERT).
    public var gateInitStd: Float?
    /// Seed of the gate initialisation; nil uses the recipe seed.
    public var gateSeed: UInt64?
    public var training = FineTuning.attentionDefaults
    /// `"init": "scratch"` (+ `"config"` overrides): start from a freshly initialised model.
    var scratch = ScratchInit()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case gateType = "gate_type", network = "gate_network", piInit = "pi_init", fineTuning = "fine_tuning"
        case gateInitStd = "gate_init_std", gateSeed = "gate_seed"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try attentionPassKeys(decoder, CodingKeys.self)
        try c.update(&gateType, .gateType)
        try c.update(&network, .network)
        try c.update(&piInit, .piInit)
        try c.update(&fineTuning, .fineTuning)
        try c.update(&gateInitStd, .gateInitStd)
        try c.update(&gateSeed, .gateSeed)
        try training.update(from: decoder)
        scratch = try ScratchInit(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(gateType, forKey: .gateType)
        try c.encode(network, forKey: .network)
        try c.encode(piInit, forKey: .piInit)
        try c.encode(fineTuning, forKey: .fineTuning)
        try c.encodeIfPresent(gateInitStd, forKey: .gateInitStd)
        try c.encodeIfPresent(gateSeed, forKey: .gateSeed)
        try training.encodeTrainingKeys(to: encoder)
        try scratch.encode(to: encoder)
    }

    public var settings: AttentionGateSettings {
        AttentionGateSettings(type: gateType, network: network, initialProbability: piInit, fineTuning: fineTuning)
    }

    public func validate(path: String) throws {
        if let problem = settings.problem {
            throw PassError("\(path).\(gateType == .unconditionalPerHead && network != .linear ? "gate_network" : "pi_init")", problem)
        }
        if let s = gateInitStd, !(s >= 0 && s.isFinite) { throw PassError("\(path).gate_init_std", "must be ≥ 0 (got \(s))") }
        try training.validate(path: path)
        try scratch.validate(path: path)
    }

    /// Adds the gate tensors (f32) of every layer with heads and declares them in `whittle.attention_gate`.
    public func convert(_ model: EditableCheckpoint, seed: UInt64) throws -> [PassReport.TensorChange] {
        if try WhittleConfig.read(from: model.config).attentionGate != nil {
            throw PassError(Self.kind, "the model already has gated attention (config.json whittle.attention_gate)")
        }
        let network = try TransformerModel.load(from: model)
        let c = network.config
        var rng = SeededGenerator(seed: seed)
        var changes: [PassReport.TensorChange] = []
        for layer in network.layers where layer.heads > 0 {
            if settings.stageShapes(headDim: layer.headDim) != nil && layer.heads * layer.headDim != layer.hidden {
                throw PassError(Self.kind, "layer \(layer.index) has \(layer.heads) heads of \(layer.headDim) over width \(layer.hidden): per-head gates read the input in head-sized slices (use gate_network linear_all_features)")
            }
            let gate = AttentionGate.initialised(settings, heads: layer.heads, headDim: layer.headDim, hidden: layer.hidden,
                                                 prefix: network.layout.attentionGate(layer: layer.index),
                                                 fineTuningStd: gateInitStd ?? (c.isCausal ? 0.001 : 0.01), using: &rng)
            for p in gate.parameters {
                model.set(p.name, Tensor(floats: p.value, shape: p.shape, dtype: .F32))
                changes.append(.init(name: p.name, before: "absent", after: "F32 \(p.shape) (gate)"))
            }
        }
        try editWhittle(model) { $0.attentionGate = settings }
        return changes
    }

    public func apply(to model: EditableCheckpoint, context: PassContext) throws -> PassReport {
        try validate(path: Self.kind)
        guard !context.training.isEmpty else {
            throw PassError(Self.kind, "needs training examples: add a \"training\" data section to the recipe")
        }
        let fresh = try scratch.apply(to: model, seed: context.seed, kind: Self.kind)
        let added = try convert(model, seed: gateSeed ?? context.seed)
        var report = try training.train(model, context: context, kind: Self.kind)
        report.kind = Self.kind
        report.summary = "gated attention (\(gateType.rawValue), \(network.rawValue), π_init \(piInit)\(fineTuning ? ", fine-tuning mode ×1/π_init" : "")) in every layer; " + report.summary
        report.tensors = added + report.tensors.filter { t in !added.contains { $0.name == t.name } }
        report.metrics["gate_tensors"] = Double(added.count)
        let stock = try stockLoaderDifference(model, examples: context.training) { m, _ in for l in m.layers { l.attentionGate = nil } }
        report.recordStockLoader(stock, examples: min(8, context.training.count), declared: "config.json whittle.attention_gate declares the gates",
                                 what: "ignore the gate tensors and compute the ungated attention")
        if !fresh.isEmpty {
            report.metrics["scratch_init_tensors"] = Double(fresh.count)
            report.notes.insert("init scratch: all \(fresh.count) tensors freshly initialised (N(0, initializer_range²) matrices, norms 1, biases 0)"
                                + (scratch.config.map { " with config overrides \($0.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))" } ?? "")
                                + " before training; the comparison's \"original\" is the input model", at: 0)
        }
        return report
    }
}
