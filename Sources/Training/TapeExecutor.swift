import Kernels
import Models
import Tensors

/// Training: runs the one block (`Models/Block/TransformerBlock.swift`) on the tape. Values are
/// tape variables; each op records its backward twin. Captures are the variables themselves, so
/// losses on them (distillation) get gradients.
public final class TapeExecutor: BlockExecutor {
    public let state: ForwardState
    public let tape: Tape
    public private(set) var captures: [CaptureKey: Variable] = [:]
    /// Projections whose input enters as a constant: the weight still gets its gradient, nothing
    /// flows back into the input (TI's "Q, K from a detached copy of the layer input", §4.3).
    /// Tape only: eager inference has no gradient to stop.
    public var detachedInputs: Set<LinearRole> = []
    /// Transforms of particular weights wherever they are used, by identity — for weights the block's
    /// `weightTransform` does not reach (the token table, the pooler): TI's word-embedding and pooler
    /// fake quantization. Tape only.
    public var parameterTransforms: [ObjectIdentifier: SiteTransform] = [:]

    public init(state: ForwardState, tape: Tape) { self.state = state; self.tape = tape }

    var rows: Int { state.rows }

    public func linear(_ x: Variable, _ layer: any LinearLayer, _ site: LinearSite?) throws -> Variable {
        guard let l = layer as? Linear else {
            let name = site.map { "layer \($0.layer) \($0.role.rawValue)" } ?? "head"
            throw TrainingError.untrainableLayer(name: name, type: "\(type(of: layer))")
        }
        var w = l.weightParameter
        let x = site.map { detachedInputs.contains($0.role) } == true ? tape.constant(x.value, shape: x.shape) : x
        if let site, let t = state.options.weightTransform?(site) { w = tape.transform(w, t, shape: w.shape) }
        else if let t = parameterTransforms[ObjectIdentifier(w)] { w = tape.transform(w, t, shape: w.shape) }
        return tape.linear(x, weight: w, bias: l.biasParameter, rows: x.count / l.inFeatures)
    }

    public func norm(_ x: Variable, _ n: Norm) -> Variable {
        tape.norm(x, kind: n.kind, weight: n.weightParameter, bias: n.biasParameter, eps: n.eps, rows: x.count / n.weightParameter.count)
    }

    public func add(_ a: Variable, _ b: Variable) -> Variable { tape.add(a, b) }
    public func multiply(_ a: Variable, _ b: Variable) -> Variable { tape.multiply(a, b) }
    public func activation(_ x: Variable, _ kind: Activation) -> Variable { tape.activation(x, kind) }
    public func swiglu(gate: Variable, up: Variable) -> Variable { tape.swiglu(gate: gate, up: up) }
    public func tanh(_ x: Variable) -> Variable { tape.tanh(x) }

    public func rotary(_ x: Variable, heads: Int, headDim: Int) -> Variable {
        tape.rotary(x, cos: state.cos!, sin: state.sin!, rows: rows, heads: heads, headDim: headDim)
    }

    /// A scale as one variable: constants are constants, a gate is trainable, both are multiplied.
    func variable(_ s: Scale) -> Variable {
        let constant = s.constant.map { tape.constant($0, shape: [$0.count]) }
        switch (constant, s.gate) {
        case let (c?, g?): return tape.multiply(g, c)
        case let (c?, nil): return c
        case let (nil, g?): return g
        case (nil, nil): preconditionFailure("empty Scale")
        }
    }

    public func scaleColumns(_ x: Variable, _ scale: Scale) -> Variable {
        tape.scaleColumns(x, variable(scale), rows: x.count / scale.count)
    }

    public func embedding(_ table: Variable, ids: [Int32], stored: Tensor?) -> Variable {
        precondition(table.count > 0, "training needs the token table in memory (not gathered from the store)")
        if let t = parameterTransforms[ObjectIdentifier(table)] { return tape.embedding(tape.transform(table, t, shape: table.shape), ids: ids) }
        return tape.embedding(table, ids: ids)
    }

    public func gatherRows(_ x: Variable, _ rowIndices: [Int], channels: Int) -> Variable { tape.gatherRows(x, rowIndices, channels: channels) }

    public func attention(q: Variable, k: Variable, v: Variable, headScale: Scale?, _ g: AttentionGeometry) -> Variable {
        tape.attention(q: q, k: k, v: v, headMask: headScale.map(variable), g)
    }

    public func attentionScores(q: Variable, k: Variable, _ g: AttentionGeometry) -> Variable { tape.attentionScores(q: q, k: k, g) }
    public func attentionNormalise(_ scores: Variable, _ g: AttentionGeometry) -> Variable { tape.attentionNormalise(scores, g) }

    public func scaleHeads(_ x: Variable, _ scale: Scale, outer: Int, heads: Int, inner: Int) -> Variable {
        tape.scaleHeads(x, variable(scale), outer: outer, heads: heads, inner: inner)
    }

    public func attentionMix(probs: Variable, v: Variable, _ g: AttentionGeometry) -> Variable { tape.attentionMix(probs: probs, v: v, g) }

    public func groupedLinear(_ x: Variable, weight: Variable, bias: Variable, groups: Int) -> Variable {
        tape.groupedLinear(x, weight: weight, bias: bias, rows: rows, groups: groups)
    }

    public func gateHeads(_ x: Variable, logits: Variable, logitRows: Int, heads: Int, headDim: Int, factor: Float) -> Variable {
        tape.gateHeads(x, logits: logits, rows: rows, logitRows: logitRows, heads: heads, headDim: headDim, factor: factor)
    }

    public func tokenMean(_ x: Variable, channels: Int) -> Variable {
        tape.tokenMean(x, batch: state.batch, seqLen: state.seqLen, channels: channels)
    }

    public func parameter(_ p: Variable) -> Variable { p }

    public func replaced(_ x: Variable, with values: [Float], shape: [Int]) -> Variable { tape.constant(values, shape: x.shape) }

    public func transformed(_ x: Variable, _ transform: SiteTransform, shape: [Int]) -> Variable {
        tape.transform(x, transform, shape: shape)
    }

    public func record(_ key: CaptureKey, _ x: Variable, shape: [Int]) { captures[key] = x }
}
