import Kernels

extension TransformerLayer {
    /// Runs this block on `x[B·T, C]` in place, honouring the hooks in `state.options`.
    public func forward(_ x: inout [Float], state: inout ForwardState) throws {
        let n = state.rows, c = hidden
        let opts = state.options
        precondition(x.count == n * c, "TransformerLayer.forward: \(x.count) values for [\(n), \(c)]")

        // Attention sublayer.
        if heads > 0, !opts.skip.contains(SublayerID(layer: index, kind: .attention)) {
            var a = try attention(x, state: &state)
            if placement == .pre {
                addInPlace(&x, a)
            } else {
                addInPlace(&a, x)
                norm1.forward(&x, a, rows: n)
            }
        } else if placement == .post {
            let residual = x
            norm1.forward(&x, residual, rows: n)
        }

        // MLP sublayer.
        if ffnWidth > 0, !opts.skip.contains(SublayerID(layer: index, kind: .mlp)) {
            var f = try mlp(x, state: &state)
            if placement == .pre {
                addInPlace(&x, f)
            } else {
                addInPlace(&f, x)
                norm2.forward(&x, f, rows: n)
            }
        } else if placement == .post {
            let residual = x
            norm2.forward(&x, residual, rows: n)
        }
        state.observe(.blockOutput, layer: index, &x, width: c)
    }

    /// Attention output `[B·T, C]` before the residual add.
    func attention(_ x: [Float], state: inout ForwardState) throws -> [Float] {
        let n = state.rows, c = hidden, qw = heads * headDim, kvw = kvHeads * headDim
        var h: [Float]
        if placement == .pre { h = [Float](repeating: 0, count: n * c); norm1.forward(&h, x, rows: n) } else { h = x }
        state.observe(.attentionInput, layer: index, &h, width: c)
        var qv = q(h, rows: n), kv = k(h, rows: n), vv = v(h, rows: n)
        if let cos = state.cos, let sin = state.sin {
            rotaryForward(&qv, cos: cos, sin: sin, rows: n, heads: heads, headDim: headDim)
            rotaryForward(&kv, cos: cos, sin: sin, rows: n, heads: kvHeads, headDim: headDim)
        }
        var headMask: [Float]? = nil
        if let masks = state.options.headMask {
            guard index < masks.count, masks[index].count == heads else {
                throw ModelError.invalidInput(reason: "headMask[\(index)] must have \(heads) entries (one per head of layer \(index))")
            }
            headMask = masks[index]
        }
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw ModelError.unsupportedOption(option: "layer \(index) heads", reason: "\(heads) query heads are not a multiple of \(kvHeads) kv heads")
        }
        var ctx = [Float](repeating: 0, count: n * qw)
        _ = kvw
        let (b, t, nh, nkv, hd, scale, causal, variant) = (state.batch, state.seqLen, heads, kvHeads, headDim, state.attentionScale, state.causal, state.options.attention)
        withOptionalPointer(state.keyPadding) { pad in
            withOptionalPointer(headMask) { hm in
                attentionForward(&ctx, probs: nil, q: qv, k: kv, v: vv, mask: AttentionMask(causal: causal, keyPadding: pad),
                                 headMask: hm, variant: variant, batch: b, seqLen: t, heads: nh, kvHeads: nkv, headDim: hd, scale: scale)
            }
        }
        state.observe(.attentionContext, layer: index, &ctx, width: qw)
        var out = o(ctx, rows: n)
        state.observe(.attentionOutput, layer: index, &out, width: c)
        return out
    }

    /// MLP output `[B·T, C]` before the residual add.
    func mlp(_ x: [Float], state: inout ForwardState) throws -> [Float] {
        let n = state.rows, c = hidden, f = ffnWidth
        var h: [Float]
        if placement == .pre { h = [Float](repeating: 0, count: n * c); norm2.forward(&h, x, rows: n) } else { h = x }
        state.observe(.ffnInput, layer: index, &h, width: c)
        var pre = (gate ?? up)(h, rows: n)
        if let masks = state.options.neuronMask {
            guard index < masks.count, masks[index].count == f else {
                throw ModelError.invalidInput(reason: "neuronMask[\(index)] must have \(f) entries (FFN width of layer \(index))")
            }
            scaleColumnsForward(&pre, masks[index], rows: n, cols: f)
        }
        state.observe(.ffnPreActivation, layer: index, &pre, width: f)
        let activation = state.activation
        activation.apply(&pre, count: n * f)
        if gate != nil {
            let u = up(h, rows: n)
            multiplyInPlace(&pre, u)
        }
        state.observe(.ffnActivation, layer: index, &pre, width: f)
        var out = down(pre, rows: n)
        state.observe(.ffnOutput, layer: index, &out, width: c)
        return out
    }
}

@inline(__always)
func withOptionalPointer<R>(_ a: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let a else { return body(nil) }
    return a.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// `x += y` elementwise.
@inline(__always)
func addInPlace(_ x: inout [Float], _ y: [Float]) {
    precondition(x.count == y.count)
    x.withUnsafeMutableBufferPointer { xp in addForward(xp.baseAddress!, xp.baseAddress!, y, count: xp.count) }
}

/// `x *= y` elementwise.
@inline(__always)
func multiplyInPlace(_ x: inout [Float], _ y: [Float]) {
    precondition(x.count == y.count)
    x.withUnsafeMutableBufferPointer { xp in
        let p = xp.baseAddress!
        y.withUnsafeBufferPointer { yp in
            let q = yp.baseAddress!
            parallelRanges(xp.count) { s, e in for i in s..<e { p[i] *= q[i] } }
        }
    }
}
