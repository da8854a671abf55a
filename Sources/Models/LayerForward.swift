import Kernels

extension TransformerLayer {
    /// Runs this block on `x[B·T, C]` in place, honouring the hooks in `state.options`.
    public func forward(_ x: inout [Float], state: inout ForwardState) throws {
        let n = state.rows, c = hidden
        precondition(x.count == n * c, "TransformerLayer.forward: \(x.count) values for [\(n), \(c)]")
        try checkHooks(state.options)
        try x.withUnsafeMutableBufferPointer { xb in
            let x = xb.baseAddress!
            let ws = state.workspace
            // Attention sublayer.
            if heads > 0, !state.options.skip.contains(SublayerID(layer: index, kind: .attention)) {
                let a = attention(x, state: &state)
                residual(x, a, norm: norm1, rows: n)
            } else if placement == .post {
                let copy = ws.buffer(.sublayer, count: n * c)
                copy.update(from: x, count: n * c)
                norm1.forward(x, copy, rows: n)
            }
            // MLP sublayer.
            if ffnWidth > 0, !state.options.skip.contains(SublayerID(layer: index, kind: .mlp)) {
                let f = try mlp(x, state: &state)
                residual(x, f, norm: norm2, rows: n)
            } else if placement == .post {
                let copy = ws.buffer(.sublayer, count: n * c)
                copy.update(from: x, count: n * c)
                norm2.forward(x, copy, rows: n)
            }
            state.observe(.blockOutput, layer: index, x, rows: n, width: c)
        }
    }

    /// Pre-norm: `x += f`. Post-norm: `x = norm(x + f)` (f is overwritten).
    func residual(_ x: UnsafeMutablePointer<Float>, _ f: UnsafeMutablePointer<Float>, norm: Norm, rows n: Int) {
        let count = n * hidden
        if placement == .pre {
            addForward(x, x, f, count: count)
        } else {
            addForward(f, f, x, count: count)
            norm.forward(x, f, rows: n)
        }
    }

    func checkHooks(_ options: ForwardOptions) throws {
        if let masks = options.headMask, index >= masks.count || masks[index].count != heads {
            throw ModelError.invalidInput(reason: "headMask[\(index)] must have \(heads) entries (one per head of layer \(index))")
        }
        if let masks = options.neuronMask, index >= masks.count || masks[index].count != ffnWidth {
            throw ModelError.invalidInput(reason: "neuronMask[\(index)] must have \(ffnWidth) entries (FFN width of layer \(index))")
        }
        guard heads == 0 || (kvHeads > 0 && heads % kvHeads == 0) else {
            throw ModelError.unsupportedOption(option: "layer \(index) heads", reason: "\(heads) query heads are not a multiple of \(kvHeads) kv heads")
        }
    }

    /// Attention output `[B·T, C]` before the residual add (in the workspace's `sublayer` buffer).
    func attention(_ x: UnsafeMutablePointer<Float>, state: inout ForwardState) -> UnsafeMutablePointer<Float> {
        let n = state.rows, c = hidden, qw = heads * headDim, kvw = kvHeads * headDim
        let ws = state.workspace
        var h = x
        if placement == .pre { h = ws.buffer(.normed, count: n * c); norm1.forward(h, x, rows: n) }
        state.observe(.attentionInput, layer: index, h, rows: n, width: c)
        let qb = ws.buffer(.q, count: n * qw), kb = ws.buffer(.k, count: n * kvw), vb = ws.buffer(.v, count: n * kvw)
        q.forward(qb, h, rows: n)
        k.forward(kb, h, rows: n)
        v.forward(vb, h, rows: n)
        if let cos = state.cos, let sin = state.sin {
            rotaryForward(qb, cos: cos, sin: sin, rows: n, heads: heads, headDim: headDim)
            rotaryForward(kb, cos: cos, sin: sin, rows: n, heads: kvHeads, headDim: headDim)
        }
        let ctx = ws.buffer(.context, count: n * qw)
        let headMask = state.options.headMask?[index]
        withOptionalPointer(state.keyPadding) { pad in
            withOptionalPointer(headMask) { hm in
                attentionForward(ctx, probs: nil, q: qb, k: kb, v: vb, mask: AttentionMask(causal: state.causal, keyPadding: pad),
                                 headMask: hm, variant: state.options.attention, batch: state.batch, seqLen: state.seqLen,
                                 heads: heads, kvHeads: kvHeads, headDim: headDim, scale: state.attentionScale)
            }
        }
        state.observe(.attentionContext, layer: index, ctx, rows: n, width: qw)
        let out = ws.buffer(.sublayer, count: n * c)
        o.forward(out, ctx, rows: n)
        state.observe(.attentionOutput, layer: index, out, rows: n, width: c)
        return out
    }

    /// MLP output `[B·T, C]` before the residual add (in the workspace's `sublayer` buffer).
    func mlp(_ x: UnsafeMutablePointer<Float>, state: inout ForwardState) throws -> UnsafeMutablePointer<Float> {
        let n = state.rows, c = hidden, f = ffnWidth
        let ws = state.workspace
        var h = x
        if placement == .pre { h = ws.buffer(.normed, count: n * c); norm2.forward(h, x, rows: n) }
        state.observe(.ffnInput, layer: index, h, rows: n, width: c)
        let pre = ws.buffer(.gate, count: n * f)
        (gate ?? up).forward(pre, h, rows: n)
        if let mask = state.options.neuronMask?[index] {
            scaleColumnsForward(pre, mask, rows: n, cols: f)
        }
        state.observe(.ffnPreActivation, layer: index, pre, rows: n, width: f)
        if gate != nil, state.activation == .silu {
            let u = ws.buffer(.up, count: n * f)
            up.forward(u, h, rows: n)
            swigluForward(pre, gate: pre, up: u, count: n * f)
        } else {
            state.activation.apply(pre, count: n * f)
            if gate != nil {
                let u = ws.buffer(.up, count: n * f)
                up.forward(u, h, rows: n)
                multiplyForward(pre, pre, u, count: n * f)
            }
        }
        state.observe(.ffnActivation, layer: index, pre, rows: n, width: f)
        let out = ws.buffer(.sublayer, count: n * c)
        down.forward(out, pre, rows: n)
        state.observe(.ffnOutput, layer: index, out, rows: n, width: c)
        return out
    }
}

@inline(__always)
func withOptionalPointer<R>(_ a: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let a else { return body(nil) }
    return a.withUnsafeBufferPointer { body($0.baseAddress) }
}
