import Kernels
import Models

/// Training-only hooks on top of `ForwardOptions` (DESIGN.md §3 "Hooks, not forks").
public struct TrainingHooks {
    /// `[layer]` trainable head gates `[heads]` multiplying attention probabilities (replaces
    /// `ForwardOptions.headMask`; gets a gradient like any parameter).
    public var headGates: [Variable]?
    /// `[layer]` trainable neuron gates `[F]` on the FFN first-linear output (replaces `neuronMask`).
    public var neuronGates: [Variable]?
    /// Maps a weight before use (fake-quant with straight-through gradients, …). Gets the parameter's name.
    public var weightTransform: ((_ name: String, _ weight: Variable, _ tape: Tape) -> Variable)?
    /// Replaces the activation at a capture point with constant values (teacher intervention); no
    /// gradient flows into what it replaced.
    public var substitute: ((CaptureKey) -> [Float]?)?

    public init(headGates: [Variable]? = nil, neuronGates: [Variable]? = nil,
                weightTransform: ((String, Variable, Tape) -> Variable)? = nil, substitute: ((CaptureKey) -> [Float]?)? = nil) {
        self.headGates = headGates; self.neuronGates = neuronGates; self.weightTransform = weightTransform; self.substitute = substitute
    }
}

/// What a taped forward returns.
public struct TrainingForward {
    /// `[B·T, V]` logits (causal LM), `[B, numLabels]` (classifier), `[B·T, C]` (encoder / no head).
    public var logits: Variable
    public var shape: [Int]
    /// Requested capture points as tape variables (distillation losses on them get gradients).
    public var captures: [CaptureKey: Variable]
    public var lastHidden: Variable
}

extension TrainableModel {
    /// Runs the model on `tape`, honouring `options` exactly as `TransformerModel.forward` does.
    public func forward(_ input: ModelInput, options: ForwardOptions = ForwardOptions(), hooks: TrainingHooks = TrainingHooks(),
                        tape: Tape) throws -> TrainingForward {
        let state = try ForwardState(config: config, input: input, options: options)
        var run = TapedRun(model: self, tape: tape, options: options, hooks: hooks, batch: state.batch, seqLen: state.seqLen,
                           keyPadding: state.keyPadding, causal: state.causal, activation: state.activation, scale: state.attentionScale)
        if let rope = config.rope {
            let t = state.seqLen
            (run.cos, run.sin) = rotaryTables(positions: (0..<state.rows).map { $0 % t }, inverseFrequencies: rope.inverseFrequencies(seqLen: t))
        }
        var x = run.embed(input)
        for (i, layer) in model.layers.enumerated() { x = try run.block(layer, layers[i], x) }
        let b = state.batch, t = state.seqLen, n = state.rows, c = config.hidden
        guard options.computeHead else { return TrainingForward(logits: x, shape: [b, t, c], captures: run.captures, lastHidden: x) }
        switch config.task {
        case .causalLM:
            guard let lmHead else { preconditionFailure("causal LM without lm_head") }
            let h = finalNorm.map { tape.norm(x, kind: $0.kind, weight: $0.weight, bias: $0.bias, eps: $0.eps, rows: n) } ?? x
            let logits = run.linear(lmHead, h, rows: n)
            return TrainingForward(logits: logits, shape: [b, t, lmHead.weight.shape[0]], captures: run.captures, lastHidden: x)
        case .sequenceClassification:
            guard let pooler, let classifier else { preconditionFailure("classifier without pooler/classifier") }
            let first = tape.gatherRows(x, (0..<b).map { $0 * t }, channels: c)
            let pooled = tape.tanh(run.linear(pooler, first, rows: b))
            let logits = run.linear(classifier, pooled, rows: b)
            return TrainingForward(logits: logits, shape: [b, classifier.weight.shape[0]], captures: run.captures, lastHidden: x)
        case .encoder:
            return TrainingForward(logits: x, shape: [b, t, c], captures: run.captures, lastHidden: x)
        }
    }
}

/// One taped forward: the block composition of `Models/LayerForward.swift`, op by op on the tape.
struct TapedRun {
    let model: TrainableModel
    let tape: Tape
    let options: ForwardOptions
    let hooks: TrainingHooks
    let batch: Int, seqLen: Int
    let keyPadding: [Float]?
    let causal: Bool
    let activation: Activation
    let scale: Float
    var cos: [Float]? = nil, sin: [Float]? = nil
    var captures: [CaptureKey: Variable] = [:]
    var rows: Int { batch * seqLen }

    init(model: TrainableModel, tape: Tape, options: ForwardOptions, hooks: TrainingHooks, batch: Int, seqLen: Int,
         keyPadding: [Float]?, causal: Bool, activation: Activation, scale: Float) {
        self.model = model; self.tape = tape; self.options = options; self.hooks = hooks; self.batch = batch; self.seqLen = seqLen
        self.keyPadding = keyPadding; self.causal = causal; self.activation = activation; self.scale = scale
    }

    func linear(_ p: LinearParameters, _ x: Variable, rows: Int) -> Variable {
        let w = hooks.weightTransform?(p.weight.name, p.weight, tape) ?? p.weight
        return tape.linear(x, weight: w, bias: p.bias, rows: rows)
    }

    func norm(_ p: NormParameters, _ x: Variable) -> Variable {
        tape.norm(x, kind: p.kind, weight: p.weight, bias: p.bias, eps: p.eps, rows: rows)
    }

    /// Capture / intervene / substitute at one point (`ForwardState.observe` on the tape).
    mutating func observe(_ point: CapturePoint, layer: Int, _ x: Variable) -> Variable {
        let key = CaptureKey(layer: layer, point: point)
        let wanted = options.capture.contains(point) && (options.captureLayers?.contains(layer) ?? true)
        var result = x
        if let values = hooks.substitute?(key) {
            precondition(values.count == x.count, "substitute \(key): \(values.count) values for \(x.count)")
            result = tape.constant(values, shape: x.shape)
        } else if wanted, let intervene = options.intervene {
            var copy = x.value
            copy.withUnsafeMutableBufferPointer { intervene(key, $0) }
            if copy != x.value { result = tape.constant(copy, shape: x.shape) }
        }
        if wanted { captures[key] = result }
        return result
    }

    func embed(_ input: ModelInput) -> Variable {
        let n = rows, t = seqLen
        var x = tape.embedding(model.tokens, ids: input.tokens.joined().map { Int32($0) })
        if let positions = model.positions {
            x = tape.add(x, tape.embedding(positions, ids: (0..<n).map { Int32($0 % t) }))
        }
        if let types = model.tokenTypes {
            let ids = input.tokenTypes.map { $0.joined().map { Int32($0) } } ?? [Int32](repeating: 0, count: n)
            x = tape.add(x, tape.embedding(types, ids: ids))
        }
        if let n = model.embeddingNorm { x = norm(n, x) }
        return x
    }

    mutating func block(_ layer: TransformerLayer, _ p: LayerParameters, _ input: Variable) throws -> Variable {
        var x = input
        let pre = layer.placement == .pre
        if !options.skip.contains(SublayerID(layer: layer.index, kind: .attention)) {
            let a = try attention(layer, p, x)
            x = pre ? tape.add(x, a) : norm(p.norm1, tape.add(a, x))
        } else if !pre {
            x = norm(p.norm1, x)
        }
        if !options.skip.contains(SublayerID(layer: layer.index, kind: .mlp)) {
            let f = try mlp(layer, p, x)
            x = pre ? tape.add(x, f) : norm(p.norm2, tape.add(f, x))
        } else if !pre {
            x = norm(p.norm2, x)
        }
        return observe(.blockOutput, layer: layer.index, x)
    }

    mutating func attention(_ layer: TransformerLayer, _ p: LayerParameters, _ x: Variable) throws -> Variable {
        let n = rows, i = layer.index
        var h = layer.placement == .pre ? norm(p.norm1, x) : x
        h = observe(.attentionInput, layer: i, h)
        var q = linear(p.q, h, rows: n), k = linear(p.k, h, rows: n)
        let v = linear(p.v, h, rows: n)
        if let cos, let sin {
            q = tape.rotary(q, cos: cos, sin: sin, rows: n, heads: layer.heads, headDim: layer.headDim)
            k = tape.rotary(k, cos: cos, sin: sin, rows: n, heads: layer.kvHeads, headDim: layer.headDim)
        }
        var mask: Variable? = nil
        if let gates = hooks.headGates {
            guard i < gates.count, gates[i].count == layer.heads else {
                throw ModelError.invalidInput(reason: "headGates[\(i)] must have \(layer.heads) entries (one per head of layer \(i))")
            }
            mask = gates[i]
        } else if let masks = options.headMask {
            guard i < masks.count, masks[i].count == layer.heads else {
                throw ModelError.invalidInput(reason: "headMask[\(i)] must have \(layer.heads) entries (one per head of layer \(i))")
            }
            mask = tape.constant(masks[i], shape: [layer.heads])
        }
        guard layer.kvHeads > 0, layer.heads % layer.kvHeads == 0 else {
            throw ModelError.unsupportedOption(option: "layer \(i) heads", reason: "\(layer.heads) query heads are not a multiple of \(layer.kvHeads) kv heads")
        }
        let geometry = AttentionGeometry(batch: batch, seqLen: seqLen, heads: layer.heads, kvHeads: layer.kvHeads, headDim: layer.headDim,
                                         scale: scale, causal: causal, keyPadding: keyPadding, variant: options.attention)
        var ctx = tape.attention(q: q, k: k, v: v, headMask: mask, geometry)
        ctx = observe(.attentionContext, layer: i, ctx)
        return observe(.attentionOutput, layer: i, linear(p.o, ctx, rows: n))
    }

    mutating func mlp(_ layer: TransformerLayer, _ p: LayerParameters, _ x: Variable) throws -> Variable {
        let n = rows, i = layer.index, f = layer.ffnWidth
        var h = layer.placement == .pre ? norm(p.norm2, x) : x
        h = observe(.ffnInput, layer: i, h)
        var pre = linear(p.gate ?? p.up, h, rows: n)
        if let gates = hooks.neuronGates {
            guard i < gates.count, gates[i].count == f else {
                throw ModelError.invalidInput(reason: "neuronGates[\(i)] must have \(f) entries (FFN width of layer \(i))")
            }
            pre = tape.scaleColumns(pre, gates[i], rows: n)
        } else if let masks = options.neuronMask {
            guard i < masks.count, masks[i].count == f else {
                throw ModelError.invalidInput(reason: "neuronMask[\(i)] must have \(f) entries (FFN width of layer \(i))")
            }
            pre = tape.scaleColumns(pre, tape.constant(masks[i], shape: [f]), rows: n)
        }
        pre = observe(.ffnPreActivation, layer: i, pre)
        var act: Variable
        if let _ = p.gate {
            let up = linear(p.up, h, rows: n)
            act = activation == .silu ? tape.swiglu(gate: pre, up: up) : tape.multiply(tape.activation(pre, activation), up)
        } else {
            act = tape.activation(pre, activation)
        }
        act = observe(.ffnActivation, layer: i, act)
        return observe(.ffnOutput, layer: i, linear(p.down, act, rows: n))
    }
}
