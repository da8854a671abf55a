import Kernels

extension Tape {
    /// Fake quantization with a straight-through gradient (QAT), a thin op over the `Kernels`
    /// quantizer so that what is trained is what an exporter writes: the forward is
    /// `quantizer.fakeQuantizeForward` over `w` viewed as `[count / C, C]` with C its last dimension
    /// (rows = output channels of a weight `[OC, C]`, tokens of activations `[B, T, C]`), the backward `fakeQuantizeBackward`: the gradient
    /// passes where −clip < w < clip and is zeroed where the value was clipped (ALGORITHMS.md §4.1).
    public func fakeQuantize(_ w: Variable, _ quantizer: Quantizer) -> Variable {
        precondition(quantizer.problem == nil, "fakeQuantize: \(quantizer.problem ?? "")")
        let cols = w.shape.last ?? 1, rows = cols == 0 ? 0 : w.count / cols
        var y = zeros(w.count)
        quantizer.fakeQuantizeForward(&y, w.value, rows: rows, cols: cols)
        let out = output(y, shape: w.shape, from: [w])
        recordBackward(out) { dout in
            w.withGrad { dw in
                guard let dw else { return }
                quantizer.fakeQuantizeBackward(dinp: dw, dout: dout, inp: w.value, rows: rows, cols: cols)
            }
        }
        return out
    }
}
