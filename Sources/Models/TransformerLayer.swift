import Kernels

/// What a compressed checkpoint says about one layer (`config.json` `whittle`, `WhittleConfig`),
/// applied when the model loads so every runner — evaluation, calibration, scoring, training —
/// honours it without the caller doing anything.
public struct LayerStructure: Equatable, Sendable {
    /// Sublayers removed by pruning: never run (their projections are zero or absent on disk).
    public var skipAttention = false
    public var skipMLP = false
    /// Heads and FFN neurons (indices into this layer's stored tensors) pruned but still present:
    /// their scale is 0 in every forward, so their weights get no gradient and stay removed.
    public var maskedHeads: [Int] = []
    public var maskedNeurons: [Int] = []
    /// How this layer normalises attention scores.
    public var attention: AttentionVariant = .standard
    public init() {}

    func skips(_ kind: SublayerKind) -> Bool { kind == .attention ? skipAttention : skipMLP }
}

/// One transformer block's weights. Shapes may be physically pruned: `heads` and `ffnWidth` are
/// read from the weight shapes, so layers of one model can differ. The computation is written once
/// in `Block/TransformerBlock.swift` and run by an executor (inference or the training tape).
///
/// Pre-norm (Llama, GPT-2):  `x += o(attn(norm1(x)))`, `x += down(act(gate(norm2 x))·up(norm2 x))`.
/// Post-norm (BERT):         `x = norm1(x + o(attn(x)))`, `x = norm2(x + fc2(act(fc1(x))))`.
public final class TransformerLayer {
    public let index: Int
    /// Number of query heads and key/value heads in this layer (after any pruning).
    public var heads: Int
    public var kvHeads: Int
    public let headDim: Int
    public var q: any LinearLayer
    public var k: any LinearLayer
    public var v: any LinearLayer
    public var o: any LinearLayer
    /// SwiGLU gate (`gate_proj`); nil for a plain two-linear MLP.
    public var gate: (any LinearLayer)?
    /// `up_proj` / `fc1` / `c_fc` / `intermediate.dense`.
    public var up: any LinearLayer
    /// `down_proj` / `fc2` / `mlp.c_proj` / `output.dense`.
    public var down: any LinearLayer
    /// Pre-norm: before attention / before MLP. Post-norm: after the attention / MLP residual add.
    public var norm1: Norm
    public var norm2: Norm
    public let placement: NormPlacement
    public var structure = LayerStructure()
    /// Gated attention (`whittle.attention_gate`, ALGORITHMS.md §3.2): scales each head's context
    /// before the output projection. nil: no gate.
    public var attentionGate: AttentionGate?

    public init(index: Int, heads: Int, kvHeads: Int, headDim: Int, q: any LinearLayer, k: any LinearLayer, v: any LinearLayer,
                o: any LinearLayer, gate: (any LinearLayer)?, up: any LinearLayer, down: any LinearLayer,
                norm1: Norm, norm2: Norm, placement: NormPlacement) {
        self.index = index; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
        self.q = q; self.k = k; self.v = v; self.o = o; self.gate = gate; self.up = up; self.down = down
        self.norm1 = norm1; self.norm2 = norm2; self.placement = placement
    }

    /// FFN intermediate width of this layer.
    public var ffnWidth: Int { up.outFeatures }
    public var hidden: Int { o.outFeatures }

    /// The projections by role (no `gate` for a plain MLP).
    public var linears: [(role: LinearRole, layer: any LinearLayer)] {
        var all: [(LinearRole, any LinearLayer)] = [(.q, q), (.k, k), (.v, v), (.o, o)]
        if let gate { all.append((.gate, gate)) }
        return all + [(.up, up), (.down, down)]
    }

    /// Whether a sublayer runs: it has width, neither the model nor `options` removed it.
    func runs(_ kind: SublayerKind, _ options: ForwardOptions) -> Bool {
        let width = kind == .attention ? heads : ffnWidth
        return width > 0 && !structure.skips(kind) && !options.skip.contains(SublayerID(layer: index, kind: kind))
    }
}
