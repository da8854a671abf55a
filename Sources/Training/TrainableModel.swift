import Kernels
import Models

/// Trainable parameters of one `Linear`.
public struct LinearParameters {
    public var weight: Variable
    public var bias: Variable?
}

/// Trainable parameters of one `Norm`.
public struct NormParameters {
    public var kind: Norm.Kind
    public var weight: Variable
    public var bias: Variable?
    public var eps: Float
}

/// Trainable parameters of one `TransformerLayer` (same structure, f32 copies as tape variables).
public struct LayerParameters {
    public var q, k, v, o: LinearParameters
    public var gate: LinearParameters?
    public var up, down: LinearParameters
    public var norm1, norm2: NormParameters
}

/// A `TransformerModel` whose weights are tape variables. The forward walks the same layer
/// structure and options as `Models` (`LayerForward.swift`) with the same `Kernels` forwards, so
/// every hook (`ForwardOptions`) works under training; `TrainingHooks` adds trainable gates, weight
/// transforms (fake-quant) and stopped-gradient substitution. `writeBack(to:)` copies the trained
/// values into the inference model; `exportTensors` gives them in the checkpoint layout.
public final class TrainableModel {
    public let model: TransformerModel
    public var config: ModelConfig { model.config }
    public var tokens: Variable
    public var positions: Variable?
    public var tokenTypes: Variable?
    public var embeddingNorm: NormParameters?
    public var layers: [LayerParameters]
    public var finalNorm: NormParameters?
    /// `lm_head`; `weight` is `tokens` itself when embeddings are tied.
    public var lmHead: LinearParameters?
    public var pooler: LinearParameters?
    public var classifier: LinearParameters?

    /// Copies every weight of `model` into trainable variables. Throws for quantized layers.
    public init(_ model: TransformerModel) throws {
        self.model = model
        let c = model.config.hidden
        let e = model.embeddings
        tokens = .parameter(e.tokens, shape: [e.vocabSize, c], name: "embeddings.tokens")
        positions = e.positions.map { .parameter($0, shape: [$0.count / c, c], name: "embeddings.positions") }
        tokenTypes = e.tokenTypes.map { .parameter($0, shape: [$0.count / c, c], name: "embeddings.token_types") }
        embeddingNorm = e.norm.map { Self.norm($0, "embeddings.norm") }
        layers = try model.layers.map { l in
            let p = "layers.\(l.index)."
            return LayerParameters(q: try Self.linear(l.q, p + "q"), k: try Self.linear(l.k, p + "k"), v: try Self.linear(l.v, p + "v"),
                                   o: try Self.linear(l.o, p + "o"), gate: try l.gate.map { try Self.linear($0, p + "gate") },
                                   up: try Self.linear(l.up, p + "up"), down: try Self.linear(l.down, p + "down"),
                                   norm1: Self.norm(l.norm1, p + "norm1"), norm2: Self.norm(l.norm2, p + "norm2"))
        }
        finalNorm = model.head.finalNorm.map { Self.norm($0, "head.norm") }
        if let head = model.head.lmHead {
            if model.config.tieWordEmbeddings {
                lmHead = LinearParameters(weight: tokens, bias: nil)
            } else {
                lmHead = try Self.linear(head, "head.lm_head")
            }
        }
        pooler = try model.head.pooler.map { try Self.linear($0, "head.pooler") }
        classifier = try model.head.classifier.map { try Self.linear($0, "head.classifier") }
    }

    static func linear(_ layer: any LinearLayer, _ name: String) throws -> LinearParameters {
        guard let l = layer as? Linear else { throw TrainingError.untrainableLayer(name: name, type: "\(type(of: layer))") }
        return LinearParameters(weight: .parameter(l.weight, shape: [l.outFeatures, l.inFeatures], name: name + ".weight"),
                                bias: l.bias.map { .parameter($0, shape: [$0.count], name: name + ".bias") })
    }

    static func norm(_ n: Norm, _ name: String) -> NormParameters {
        NormParameters(kind: n.kind, weight: .parameter(n.weight, shape: [n.weight.count], name: name + ".weight"),
                       bias: n.bias.map { .parameter($0, shape: [$0.count], name: name + ".bias") }, eps: n.eps)
    }

    /// Every distinct trainable variable, in a stable order (tied weights once).
    public var parameters: [Variable] {
        var all: [Variable?] = [tokens, positions, tokenTypes, embeddingNorm?.weight, embeddingNorm?.bias]
        func lin(_ l: LinearParameters?) { all.append(l?.weight); all.append(l?.bias) }
        func nrm(_ n: NormParameters?) { all.append(n?.weight); all.append(n?.bias) }
        for l in layers {
            lin(l.q); lin(l.k); lin(l.v); lin(l.o); lin(l.gate); lin(l.up); lin(l.down); nrm(l.norm1); nrm(l.norm2)
        }
        nrm(finalNorm); lin(lmHead); lin(pooler); lin(classifier)
        var seen = Set<ObjectIdentifier>()
        return all.compactMap { $0 }.filter { seen.insert(ObjectIdentifier($0)).inserted }
    }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Copies the trained values back into the inference model's `Linear`s, norms and embeddings.
    public func writeBack() {
        let m = model
        m.embeddings.tokens = tokens.value
        if let positions { m.embeddings.positions = positions.value }
        if let tokenTypes { m.embeddings.tokenTypes = tokenTypes.value }
        if let n = embeddingNorm { m.embeddings.norm?.weight = n.weight.value; m.embeddings.norm?.bias = n.bias?.value }
        func lin(_ target: (any LinearLayer)?, _ p: LinearParameters?) {
            guard let l = target as? Linear, let p else { return }
            l.weight = p.weight.value; l.bias = p.bias?.value
        }
        for (layer, p) in zip(m.layers, layers) {
            lin(layer.q, p.q); lin(layer.k, p.k); lin(layer.v, p.v); lin(layer.o, p.o); lin(layer.gate, p.gate)
            lin(layer.up, p.up); lin(layer.down, p.down)
            layer.norm1.weight = p.norm1.weight.value; layer.norm1.bias = p.norm1.bias?.value
            layer.norm2.weight = p.norm2.weight.value; layer.norm2.bias = p.norm2.bias?.value
        }
        if let n = finalNorm { m.head.finalNorm?.weight = n.weight.value; m.head.finalNorm?.bias = n.bias?.value }
        lin(m.head.lmHead, lmHead); lin(m.head.pooler, pooler); lin(m.head.classifier, classifier)
    }
}
