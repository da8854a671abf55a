import Kernels

/// The transformer block, written once (docs/ARCHITECTURE.md "The block"). Inference runs it with
/// `EagerExecutor`, training with the tape's executor; hooks act at typed sites (`CapturePoint`).
extension TransformerLayer {
    /// This block on `x[B·T, C]`. With `keepRows` (row indices into B·T; see `canKeepRows`) only those
    /// rows leave the block: attention still reads every position's keys and values, but the output
    /// projection, residual and MLP run on the kept rows alone — the last layer of a forward that
    /// needs only the last position's logits (llama.cpp's prompt pass does the same).
    public func run<E: BlockExecutor>(_ x: E.Value, on e: E, keepRows: [Int]? = nil) throws -> E.Value {
        let options = e.state.options
        try checkHooks(options)
        let pre = placement == .pre
        var x = x
        if runs(.attention, options) {
            let a = try attention(x, on: e, keepRows: keepRows)
            if let keepRows { x = e.gatherRows(x, keepRows, channels: hidden) }
            x = pre ? e.add(x, a) : e.norm(e.add(x, a), norm1)
        } else if let keepRows {
            x = e.gatherRows(x, keepRows, channels: hidden)
        } else if !pre {
            x = e.norm(x, norm1)        // stock code with a zeroed sublayer still normalises the residual
        }
        if runs(.mlp, options) {
            let f = try mlp(x, on: e)
            x = pre ? e.add(x, f) : e.norm(e.add(x, f), norm2)
        } else if !pre {
            x = e.norm(x, norm2)
        }
        return e.site(key(.blockOutput), x, shape: shape(e, hidden))
    }

    /// Attention output `[B·T, C]` before the residual add: scores → normalise → mix → output
    /// projection, fused unless a hook needs the scores or probabilities.
    func attention<E: BlockExecutor>(_ x: E.Value, on e: E, keepRows: [Int]? = nil) throws -> E.Value {
        let st = e.state, options = st.options
        var h = placement == .pre ? e.norm(x, norm1) : x
        h = e.site(key(.attentionInput), h, shape: shape(e, hidden))
        let qkv = try e.linears(h, [(self.q, LinearSite(layer: index, role: .q)), (self.k, LinearSite(layer: index, role: .k)),
                                    (self.v, LinearSite(layer: index, role: .v))])
        var q = qkv[0], k = qkv[1], v = qkv[2]
        if st.cos != nil {
            q = e.rotary(q, heads: heads, headDim: headDim)
            k = e.rotary(k, heads: kvHeads, headDim: headDim)
        }
        q = e.site(key(.query), q, shape: shape(e, heads * headDim))
        k = e.site(key(.key), k, shape: shape(e, kvHeads * headDim))
        v = e.site(key(.value), v, shape: shape(e, kvHeads * headDim))
        let g = st.geometry(layer: index, heads: heads, kvHeads: kvHeads, headDim: headDim, variant: options.attention ?? structure.attention)
        let headScale = headScale(options)
        var ctx: E.Value
        if CapturePoint.allCases.contains(where: { $0.needsAttentionSteps && options.touches($0, layer: index) }) {
            if st.cache != nil {
                throw ModelError.unsupportedOption(option: "KV cache", reason: "hooks at the scores or probabilities of layer \(index) need the whole attention matrix (run without the cache)")
            }
            var s = e.attentionScores(q: q, k: k, g)
            s = e.site(key(.scores), s, shape: g.scoresShape)
            var p = e.attentionNormalise(s, g)
            p = e.site(key(.probabilities), p, shape: g.scoresShape)
            if let headScale { p = e.scaleHeads(p, headScale, outer: g.batch, heads: heads, inner: g.seqLen * g.seqLen) }
            ctx = e.attentionMix(probs: p, v: v, g)
        } else {
            ctx = e.attention(q: q, k: k, v: v, headScale: headScale, g)
        }
        if let attentionGate { ctx = attentionGate.run(ctx, input: h, on: e) }
        ctx = e.site(key(.attentionContext), ctx, shape: shape(e, heads * headDim))
        if let keepRows { ctx = e.gatherRows(ctx, keepRows, channels: heads * headDim) }
        let out = try e.linear(ctx, o, LinearSite(layer: index, role: .o))
        return e.site(key(.attentionOutput), out, shape: shape(e, hidden))
    }

    /// MLP output `[B·T, C]` before the residual add.
    func mlp<E: BlockExecutor>(_ x: E.Value, on e: E) throws -> E.Value {
        let st = e.state, f = ffnWidth
        var h = placement == .pre ? e.norm(x, norm2) : x
        h = e.site(key(.ffnInput), h, shape: shape(e, hidden))
        let upSite = LinearSite(layer: index, role: .up)
        let projected = try gate.map { try e.linears(h, [($0, LinearSite(layer: index, role: .gate)), (up, upSite)]) }
            ?? [try e.linear(h, up, upSite)]
        var pre = projected[0]
        if let s = neuronScale(st.options) { pre = e.scaleColumns(pre, s) }
        pre = e.site(key(.ffnPreActivation), pre, shape: shape(e, f))
        var act: E.Value
        if gate != nil {
            let u = projected[1]
            act = st.activation == .silu ? e.swiglu(gate: pre, up: u) : e.multiply(e.activation(pre, st.activation), u)
        } else {
            act = e.activation(pre, st.activation)
        }
        act = e.site(key(.ffnActivation), act, shape: shape(e, f))
        let out = try e.linear(act, down, LinearSite(layer: index, role: .down))
        return e.site(key(.ffnOutput), out, shape: shape(e, hidden))
    }

    /// Whether `run(keepRows:)` may drop rows in this block: a pre-norm block (the residual stream is
    /// the only thing carried), no attention gate (it reads every row's input), and no site of this
    /// layer captured or hooked (their shapes are `[B, T, ·]`).
    public func canKeepRows(_ options: ForwardOptions) -> Bool {
        placement == .pre && attentionGate == nil && !CapturePoint.allCases.contains { options.touches($0, layer: index) }
    }

    func key(_ point: CapturePoint) -> CaptureKey { CaptureKey(layer: index, point: point) }
    func shape<E: BlockExecutor>(_ e: E, _ width: Int) -> [Int] { [e.state.batch, e.state.seqLen, width] }

    /// Head mask × pruned heads, and the trainable gate: nil when every factor is 1.
    func headScale(_ options: ForwardOptions) -> Scale? {
        scale(options.headMask?[index], masked: structure.maskedHeads, count: heads, gate: options.headGates?[index])
    }

    func neuronScale(_ options: ForwardOptions) -> Scale? {
        scale(options.neuronMask?[index], masked: structure.maskedNeurons, count: ffnWidth, gate: options.neuronGates?[index])
    }

    private func scale(_ mask: [Float]?, masked: [Int], count: Int, gate: Variable?) -> Scale? {
        var constant = mask
        if !masked.isEmpty {
            constant = constant ?? [Float](repeating: 1, count: count)
            for i in masked where i < count { constant![i] = 0 }
        }
        if constant == nil && gate == nil { return nil }
        return Scale(constant: constant, gate: gate)
    }

    func checkHooks(_ options: ForwardOptions) throws {
        let lists: [(String, [Int]?, Int, String)] = [
            ("headMask", options.headMask?.map(\.count), heads, "one per head"),
            ("headGates", options.headGates?.map(\.count), heads, "one per head"),
            ("neuronMask", options.neuronMask?.map(\.count), ffnWidth, "FFN width"),
            ("neuronGates", options.neuronGates?.map(\.count), ffnWidth, "FFN width")]
        for (name, counts, expected, unit) in lists {
            guard let counts, index >= counts.count || counts[index] != expected else { continue }
            throw ModelError.invalidInput(reason: "\(name)[\(index)] must have \(expected) entries (\(unit) of layer \(index))")
        }
        if let g = attentionGate, g.heads != heads || (g.settings.stageShapes(headDim: headDim) != nil && heads * headDim != hidden) {
            throw ModelError.unsupportedOption(option: "layer \(index) attention gate",
                                               reason: "gate for \(g.heads) heads; the layer has \(heads) heads of \(headDim) over width \(hidden) (per-head gates need heads·head_dim = hidden)")
        }
        guard heads == 0 || (kvHeads > 0 && heads % kvHeads == 0) else {
            throw ModelError.unsupportedOption(option: "layer \(index) heads", reason: "\(heads) query heads are not a multiple of \(kvHeads) kv heads")
        }
    }
}

extension Embeddings {
    /// `x[B·T, C]`: token rows + positions (`state.positions`: 0..<T, or after the cached ones) + token
    /// types, then the norm.
    public func run<E: BlockExecutor>(_ input: ModelInput, on e: E) -> E.Value {
        let n = e.state.rows, t = e.state.seqLen
        var x = e.embedding(tokenParameter, ids: input.tokens.joined().map { Int32($0) }, stored: storedTokens)
        if let positionParameter {
            x = e.add(x, e.embedding(positionParameter, ids: e.state.positions.map { Int32($0) }, stored: nil))
        }
        if let tokenTypeParameter {
            let ids = input.tokenTypes.map { $0.joined().map { Int32($0) } } ?? [Int32](repeating: 0, count: n)
            x = e.add(x, e.embedding(tokenTypeParameter, ids: ids, stored: nil))
        }
        if let norm { x = e.norm(x, norm) }
        return e.site(CaptureKey(layer: 0, point: .embeddings), x, shape: [e.state.batch, t, hidden])
    }
}

extension ModelHead {
    /// The head on the last hidden state `x[B·T, C]` (`x[B, C]` when the last block kept only each
    /// sequence's last row, `lastRowsKept`): logits and their shape.
    public func run<E: BlockExecutor>(_ x: E.Value, on e: E, config: ModelConfig, lastRowsKept: Bool = false) throws -> (E.Value, [Int]) {
        let b = e.state.batch, t = e.state.seqLen, c = config.hidden
        switch config.task {
        case .causalLM:
            guard let lmHead else { preconditionFailure("causal LM without lm_head") }
            var x = x
            let rows = e.state.options.headRows == .last ? 1 : t
            // Only the last position of each sequence (unless the last block already kept only those rows).
            if rows < t && !lastRowsKept { x = e.gatherRows(x, (0..<b).map { $0 * t + t - 1 }, channels: c) }
            let h = finalNorm.map { e.norm(x, $0) } ?? x
            return (try e.linear(h, lmHead, nil), [b, rows, lmHead.outFeatures])
        case .sequenceClassification:
            guard let pooler, let classifier else { preconditionFailure("classifier without pooler/classifier") }
            let first = e.gatherRows(x, (0..<b).map { $0 * t }, channels: c)
            let pooled = e.tanh(try e.linear(first, pooler, nil))
            return (try e.linear(pooled, classifier, nil), [b, classifier.outFeatures])
        case .encoder:
            return (x, [b, t, c])
        }
    }
}
