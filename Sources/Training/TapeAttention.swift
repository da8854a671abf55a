import Kernels
import Models

extension Tape {
    /// Fused multi-head attention with GQA, masks, clipped softmax and an optional (possibly
    /// trainable) head scale `[NH]` on the probabilities (`attentionForward` / `attentionBackward`:
    /// the backward recomputes the probabilities from q and k, which is exact only because nothing
    /// replaced them — the block takes the step-by-step path when a hook touches them).
    public func attention(q: Variable, k: Variable, v: Variable, headMask: Variable?, _ g: AttentionGeometry) -> Variable {
        let n = g.rows
        var y = zeros(n * g.heads * g.headDim)
        func withMask<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
            guard let headMask else { return body(nil) }
            return headMask.value.withUnsafeBufferPointer { body($0.baseAddress) }
        }
        g.withMask { m in withMask { hm in
            attentionForward(&y, probs: nil, q: q.value, k: k.value, v: v.value, mask: m, headMask: hm, variant: g.variant,
                             batch: g.batch, seqLen: g.seqLen, heads: g.heads, kvHeads: g.kvHeads, headDim: g.headDim, scale: g.scale)
        } }
        let out = output(y, shape: [n, g.heads * g.headDim], from: [q, k, v, headMask])
        recordBackward(out) { dout in
            q.withGrad { dq in k.withGrad { dk in v.withGrad { dv in
                let run = { (dhm: UnsafeMutablePointer<Float>?) in
                    g.withMask { m in withMask { hm in
                        attentionBackward(dq: dq, dk: dk, dv: dv, dheadMask: dhm, dout: dout, q: q.value, k: k.value, v: v.value,
                                          mask: m, headMask: hm, variant: g.variant,
                                          batch: g.batch, seqLen: g.seqLen, heads: g.heads, kvHeads: g.kvHeads, headDim: g.headDim, scale: g.scale)
                    } }
                }
                if let headMask { headMask.withGrad(run) } else { run(nil) }
            } } }
        }
        return out
    }

    /// Masked scores `[B, NH, T, T]` (`attentionScoresForward` / `attentionScoresBackward`).
    public func attentionScores(q: Variable, k: Variable, _ g: AttentionGeometry) -> Variable {
        var s = zeros(g.scoresShape.reduce(1, *))
        g.withMask { m in
            attentionScoresForward(&s, q: q.value, k: k.value, mask: m, batch: g.batch, seqLen: g.seqLen, heads: g.heads,
                                   kvHeads: g.kvHeads, headDim: g.headDim, scale: g.scale)
        }
        let out = output(s, shape: g.scoresShape, from: [q, k])
        recordBackward(out) { dout in
            q.withGrad { dq in k.withGrad { dk in
                attentionScoresBackward(dq: dq, dk: dk, dscores: dout, q: q.value, k: k.value, batch: g.batch, seqLen: g.seqLen,
                                        heads: g.heads, kvHeads: g.kvHeads, headDim: g.headDim, scale: g.scale)
            } }
        }
        return out
    }

    /// Probabilities from scores (softmax, clipped variant); keeps the softmax for the backward.
    public func attentionNormalise(_ scores: Variable, _ g: AttentionGeometry) -> Variable {
        let rows = g.batch * g.heads * g.seqLen
        var p = zeros(scores.count), soft = zeros(scores.count)
        p.withUnsafeMutableBufferPointer { pp in soft.withUnsafeMutableBufferPointer { sp in
            attentionNormaliseForward(pp.baseAddress!, softmaxOut: sp.baseAddress!, scores: scores.value, variant: g.variant, rows: rows, seqLen: g.seqLen)
        } }
        if case .standard = g.variant { soft = p }
        let out = output(p, shape: scores.shape, from: [scores])
        recordBackward(out) { dout in
            scores.withGrad { ds in
                guard let ds else { return }
                attentionNormaliseBackward(ds, dprobs: dout, softmaxOut: soft, variant: g.variant, rows: rows, seqLen: g.seqLen)
            }
        }
        return out
    }

    /// `x[o, h, i]·scale[h]` over `x[outer, heads, inner]` (`scaleHeadsForward` / `scaleHeadsBackward`).
    public func scaleHeads(_ x: Variable, _ scale: Variable, outer: Int, heads: Int, inner: Int) -> Variable {
        var y = x.value
        y.withUnsafeMutableBufferPointer { scaleHeadsForward($0.baseAddress!, scale.value, outer: outer, heads: heads, inner: inner) }
        let out = output(y, shape: x.shape, from: [x, scale])
        recordBackward(out) { dout in
            x.withGrad { dx in scale.withGrad { ds in
                scaleHeadsBackward(dx: dx, dscale: ds, dout: dout, x: x.value, scale: scale.value, outer: outer, heads: heads, inner: inner)
            } }
        }
        return out
    }

    /// Context `[N, NH·HD]` = probabilities · v per head (`attentionMixForward` / `attentionMixBackward`).
    public func attentionMix(probs: Variable, v: Variable, _ g: AttentionGeometry) -> Variable {
        var y = zeros(g.rows * g.heads * g.headDim)
        attentionMixForward(&y, probs: probs.value, v: v.value, batch: g.batch, seqLen: g.seqLen, heads: g.heads, kvHeads: g.kvHeads, headDim: g.headDim)
        let out = output(y, shape: [g.rows, g.heads * g.headDim], from: [probs, v])
        recordBackward(out) { dout in
            probs.withGrad { dp in v.withGrad { dv in
                attentionMixBackward(dprobs: dp, dv: dv, dout: dout, probs: probs.value, v: v.value, batch: g.batch, seqLen: g.seqLen,
                                     heads: g.heads, kvHeads: g.kvHeads, headDim: g.headDim)
            } }
        }
        return out
    }

    /// A site transform (fake quantization, …) with the gradient it states.
    public func transform(_ x: Variable, _ t: SiteTransform, shape: [Int]) -> Variable {
        var y = x.value
        y.withUnsafeMutableBufferPointer { t.forward($0, shape) }
        let out = output(y, shape: x.shape, from: [x])
        recordBackward(out) { dout in
            x.withGrad { dx in
                guard let dx else { return }
                x.value.withUnsafeBufferPointer { xp in
                    t.backward(xp, UnsafeBufferPointer(start: dout, count: x.count), UnsafeMutableBufferPointer(start: dx, count: x.count), shape)
                }
            }
        }
        return out
    }
}
