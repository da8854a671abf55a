import Kernels
import Models

/// Attention geometry and masks for one batch.
public struct AttentionGeometry {
    public var batch: Int, seqLen: Int, heads: Int, kvHeads: Int, headDim: Int
    public var scale: Float
    public var causal: Bool
    /// `[B·T]` 1 real / 0 padding (nil: no padding).
    public var keyPadding: [Float]?
    public var variant: AttentionVariant
}

extension Tape {
    /// Multi-head attention with GQA, masks, clipped softmax and an optional (possibly trainable)
    /// head mask `[NH]` multiplying the probabilities (`attentionForward` / `attentionBackward`).
    public func attention(q: Variable, k: Variable, v: Variable, headMask: Variable?, _ g: AttentionGeometry) -> Variable {
        let n = g.batch * g.seqLen
        var y = zeros(n * g.heads * g.headDim)
        func withPad<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
            guard let pad = g.keyPadding else { return body(nil) }
            return pad.withUnsafeBufferPointer { body($0.baseAddress) }
        }
        func withMask<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
            guard let headMask else { return body(nil) }
            return headMask.value.withUnsafeBufferPointer { body($0.baseAddress) }
        }
        withPad { pad in withMask { hm in
            attentionForward(&y, probs: nil, q: q.value, k: k.value, v: v.value, mask: AttentionMask(causal: g.causal, keyPadding: pad),
                             headMask: hm, variant: g.variant, batch: g.batch, seqLen: g.seqLen, heads: g.heads, kvHeads: g.kvHeads,
                             headDim: g.headDim, scale: g.scale)
        } }
        let out = output(y, shape: [n, g.heads * g.headDim], from: [q, k, v, headMask])
        recordBackward(out) { dout in
            q.withGrad { dq in k.withGrad { dk in v.withGrad { dv in
                let run = { (dhm: UnsafeMutablePointer<Float>?) in
                    withPad { pad in withMask { hm in
                        attentionBackward(dq: dq, dk: dk, dv: dv, dheadMask: dhm, dout: dout, q: q.value, k: k.value, v: v.value,
                                          mask: AttentionMask(causal: g.causal, keyPadding: pad), headMask: hm, variant: g.variant,
                                          batch: g.batch, seqLen: g.seqLen, heads: g.heads, kvHeads: g.kvHeads, headDim: g.headDim, scale: g.scale)
                    } }
                }
                if let headMask { headMask.withGrad(run) } else { run(nil) }
            } } }
        }
        return out
    }
}
