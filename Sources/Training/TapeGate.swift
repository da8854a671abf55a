import Kernels
import Models

/// Gated attention on the tape (`Kernels/AttentionGate.swift`, ALGORITHMS.md §3.2).
extension Tape {
    /// One `nn.Linear` per group: `x[N, G·I]`, `weight[G, O, I]`, `bias[G, O]` → `[N, G·O]`
    /// (`groupedLinearForward` / `groupedLinearBackward`).
    public func groupedLinear(_ x: Variable, weight: Variable, bias: Variable, rows n: Int, groups: Int) -> Variable {
        let i = x.count / (n * groups), o = bias.count / groups
        precondition(weight.count == groups * o * i, "groupedLinear: weight \(weight.shape) for \(groups) groups of \(i) → \(o)")
        var y = zeros(n * groups * o)
        y.withUnsafeMutableBufferPointer {
            groupedLinearForward($0.baseAddress!, x.value, weight: weight.value, bias: bias.value, rows: n, groups: groups, inFeatures: i, outFeatures: o)
        }
        let out = output(y, shape: [n, groups * o], from: [x, weight, bias])
        recordBackward(out) { dout in
            x.withGrad { dx in weight.withGrad { dw in bias.withGrad { db in
                groupedLinearBackward(dx: dx, dweight: dw, dbias: db, dout: dout, x: x.value, weight: weight.value,
                                      rows: n, groups: groups, inFeatures: i, outFeatures: o)
            } } }
        }
        return out
    }

    /// `x[N, H·HD]` with head h of row n scaled by `factor·sigmoid(logits[n / (N/R), h])`
    /// (`gateHeadsForward` / `gateHeadsBackward`).
    public func gateHeads(_ x: Variable, logits: Variable, rows n: Int, logitRows r: Int, heads h: Int, headDim hd: Int, factor: Float) -> Variable {
        precondition(x.count == n * h * hd && logits.count == r * h && n % r == 0, "gateHeads: \(x.count) values, \(logits.count) logits for \(n)×\(h)×\(hd), \(r) logit rows")
        var y = zeros(x.count)
        y.withUnsafeMutableBufferPointer {
            gateHeadsForward($0.baseAddress!, x.value, logits: logits.value, rows: n, logitRows: r, heads: h, headDim: hd, factor: factor)
        }
        let out = output(y, shape: x.shape, from: [x, logits])
        recordBackward(out) { dout in
            x.withGrad { dx in logits.withGrad { dl in
                gateHeadsBackward(dx: dx, dlogits: dl, dout: dout, x: x.value, logits: logits.value, rows: n, logitRows: r, heads: h,
                                  headDim: hd, factor: factor)
            } }
        }
        return out
    }

    /// `[B·T, C]` → `[B, C]` mean over positions (`tokenMeanForward` / `tokenMeanBackward`).
    public func tokenMean(_ x: Variable, batch b: Int, seqLen t: Int, channels c: Int) -> Variable {
        var y = zeros(b * c)
        y.withUnsafeMutableBufferPointer { tokenMeanForward($0.baseAddress!, x.value, batch: b, seqLen: t, channels: c) }
        let out = output(y, shape: [b, c], from: [x])
        recordBackward(out) { dout in
            x.withGrad { if let dx = $0 { tokenMeanBackward(dx, dout: dout, batch: b, seqLen: t, channels: c) } }
        }
        return out
    }
}
