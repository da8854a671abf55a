import Foundation
import Kernels
import Tensors

/// How a layer gates its heads (`config.json` `whittle.attention_gate`, ALGORITHMS.md §3.2).
///
/// ```json
/// {"whittle": {"attention_gate": {"type": "conditional_per_token", "network": "linear",
///                                 "init": 0.25, "fine_tuning": false}}}
/// ```
public struct AttentionGateSettings: Codable, Equatable, Sendable {
    /// Per token (`π[t, h]`), per sequence (logits averaged over T before the sigmoid) or a learned
    /// constant per head — the reference's `--attn_gate_type`.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case conditionalPerToken = "conditional_per_token", conditionalPerHead = "conditional_per_head"
        case unconditionalPerHead = "unconditional_per_head"
    }
    /// G_h: `Linear(d_h → 1)`, `Linear(d_h → d_h/4) → ReLU → Linear(→ 1)` (`--attn_gate_mlp`),
    /// the same with width d_h (`--attn_gate_mlp2`), or one `Linear(d → H)` on the full input
    /// (`--attn_gate_linear_all_features`); or `elementwise`, the output gate of "Gated Attention for
    /// LLMs" (Qiu et al. 2025, Qwen3-Next): one `Linear(d → H·d_h)`, a sigmoid per context channel.
    public enum Network: String, Codable, Sendable, CaseIterable {
        case linear, mlp, mlp2, linearAllFeatures = "linear_all_features", elementwise
    }

    public var type: Kind
    public var network: Network
    /// π_init: the linear gate's bias is logit(π_init); nil keeps PyTorch's default init.
    public var initialProbability: Float?
    /// Fine-tuning mode (§3.2): the gate output is multiplied by 1/π_init, so a small-init gate starts
    /// at ≈ 1 and the converted model computes what the original did.
    public var fineTuning: Bool

    enum CodingKeys: String, CodingKey { case type, network, initialProbability = "init", fineTuning = "fine_tuning" }

    public init(type: Kind = .conditionalPerToken, network: Network = .linear, initialProbability: Float? = nil, fineTuning: Bool = false) {
        self.type = type; self.network = network; self.initialProbability = initialProbability; self.fineTuning = fineTuning
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(Kind.self, forKey: .type) ?? .conditionalPerToken
        network = try c.decodeIfPresent(Network.self, forKey: .network) ?? .linear
        initialProbability = try c.decodeIfPresent(Float.self, forKey: .initialProbability)
        fineTuning = try c.decodeIfPresent(Bool.self, forKey: .fineTuning) ?? false
    }

    /// The factor on the gate: 1/π_init in fine-tuning mode, else 1.
    public var outputFactor: Float { fineTuning ? 1 / (initialProbability ?? 0.5) : 1 }

    /// The reason these settings cannot be used (nil: fine).
    public var problem: String? {
        if let p = initialProbability, !(p > 0 && p < 1) { return "init (π_init) must be in (0, 1), got \(p)" }
        if type == .unconditionalPerHead && network != .linear { return "unconditional_per_head has no network (got \(network.rawValue))" }
        if fineTuning && network == .elementwise && initialProbability == nil { return "fine_tuning with the elementwise gate needs init (π_init)" }
        return nil
    }

    /// Stacked per-head layers `(out, in)` for one head of width `headDim` (nil: not per head).
    public func stageShapes(headDim hd: Int) -> [(out: Int, in: Int)]? {
        switch (type, network) {
        case (.unconditionalPerHead, _), (_, .linearAllFeatures), (_, .elementwise): return nil
        case (_, .linear): return [(1, hd)]
        case (_, .mlp): return [(max(hd / 4, 1), hd), (1, max(hd / 4, 1))]
        case (_, .mlp2): return [(hd, hd), (1, hd)]
        }
    }

    /// Tensor names under the gate prefix (`…self_attn.gate.`), with their shapes.
    public func tensorShapes(heads h: Int, headDim hd: Int, hidden c: Int) -> [(name: String, shape: [Int])] {
        if type == .unconditionalPerHead { return [("logit", [h])] }
        if network == .linearAllFeatures { return [("weight", [h, c]), ("bias", [h])] }
        if network == .elementwise { return [("weight", [h * hd, c]), ("bias", [h * hd])] }
        let stages = stageShapes(headDim: hd)!
        if stages.count == 1 { return [("weight", [h, 1, hd]), ("bias", [h, 1])] }
        return stages.enumerated().flatMap { i, s in [("fc\(i + 1).weight", [h, s.out, s.in]), ("fc\(i + 1).bias", [h, s.out])] }
    }
}

/// A layer's attention gate (ALGORITHMS.md §3.2): `π[t, h] = sigmoid(G_h(x[t, h·d_h ..< (h+1)·d_h]))`
/// with x the attention input (the q/k/v input: pre-norm output for decoders, the block input for
/// BERT), scaling head h's context before the output projection. The per-head networks are stored
/// stacked: group h of `weight[H, O, I]` is the reference's `alpha[h]` `nn.Linear(I, O)`. Parameters
/// are `Variable`s named `<layer>.self_attn.gate.*` (family names: `FamilyLayout.attentionGate`).
public final class AttentionGate {
    public let settings: AttentionGateSettings
    public let heads: Int
    public let headDim: Int
    /// Every parameter by its name under the gate prefix, in `settings.tensorShapes` order.
    public let parameters: [Variable]

    public init(settings: AttentionGateSettings, heads: Int, headDim: Int, parameters: [Variable]) {
        self.settings = settings; self.heads = heads; self.headDim = headDim; self.parameters = parameters
    }

    /// Fresh parameters as the reference initialises them: PyTorch's `nn.Linear` default
    /// (U(±1/√fan_in) for weight and bias), the linear gate's bias logit(π_init) when π_init is set,
    /// unconditional logits 0; in fine-tuning mode the last layer's weights N(0, `fineTuningStd`²)
    /// (reference: 0.001 OPT, 0.01 BERT) and its bias logit(π_init), so the model starts unchanged.
    public static func initialised(_ settings: AttentionGateSettings, heads h: Int, headDim hd: Int, hidden c: Int,
                                   prefix: String, fineTuningStd: Float = 0.001, using rng: inout SeededGenerator) -> AttentionGate {
        let shapes = settings.tensorShapes(heads: h, headDim: hd, hidden: c)
        let logitInit = settings.initialProbability.map { log($0 / (1 - $0)) }
        var values: [[Float]] = []
        for (i, (name, shape)) in shapes.enumerated() {
            let n = shape.reduce(1, *), last = i >= shapes.count - 2
            let fanIn = name == "logit" ? 1 : (name.hasSuffix("weight") ? shape.last! : shapes[i - 1].shape.last!)
            let bound = 1 / Float(fanIn).squareRoot()
            var v: [Float]
            if name == "logit" {
                v = [Float](repeating: 0, count: n)
            } else if settings.fineTuning && last && name.hasSuffix("weight") {
                v = (0..<n).map { _ in fineTuningStd * normal(&rng) }
            } else {
                v = (0..<n).map { _ in Float.random(in: -bound...bound, using: &rng) }
            }
            if name.hasSuffix("bias"), last, let logitInit, settings.network == .linear || settings.network == .elementwise || settings.fineTuning {
                v = [Float](repeating: logitInit, count: n)
            }
            values.append(v)
        }
        return AttentionGate(settings: settings, heads: h, headDim: hd, parameters: zip(shapes, values).map { s, v in
            .parameter(v, shape: s.shape, name: prefix + "." + s.name, decay: s.name.hasSuffix("weight"))
        })
    }

    public static func normal(_ rng: inout SeededGenerator) -> Float {
        let u1 = Float.random(in: Float.ulpOfOne..<1, using: &rng), u2 = Float.random(in: 0..<1, using: &rng)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// The gated context `[N, H·HD]` from the context and the attention input `x[N, C]`.
    func run<E: BlockExecutor>(_ context: E.Value, input x: E.Value, on e: E) -> E.Value {
        let st = e.state, s = settings
        var logits: E.Value, logitRows = st.rows
        // The elementwise gate is a per-head gate over heads of width 1: one sigmoid per context channel.
        let (gates, width) = s.network == .elementwise ? (heads * headDim, 1) : (heads, headDim)
        switch (s.type, s.network) {
        case (.unconditionalPerHead, _):
            logits = e.parameter(parameters[0]); logitRows = 1
        case (_, .linearAllFeatures), (_, .elementwise):
            logits = e.groupedLinear(x, weight: parameters[0], bias: parameters[1], groups: 1)
        default:
            logits = x
            for i in stride(from: 0, to: parameters.count, by: 2) {
                if i > 0 { logits = e.activation(logits, .relu) }
                logits = e.groupedLinear(logits, weight: parameters[i], bias: parameters[i + 1], groups: heads)
            }
        }
        if s.type == .conditionalPerHead {
            logits = e.tokenMean(logits, channels: gates); logitRows = st.batch
        }
        return e.gateHeads(context, logits: logits, logitRows: logitRows, heads: gates, headDim: width, factor: s.outputFactor)
    }
}
