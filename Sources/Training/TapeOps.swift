import Kernels
import Models

/// Coarse differentiable ops: each runs a `Kernels` forward and records its `…Backward` twin.
extension Tape {
    /// Output variable that requires a gradient when any input does.
    func output(_ value: [Float], shape: [Int], from inputs: [Variable?]) -> Variable {
        Variable(value, shape: shape, requiresGrad: inputs.contains { $0?.requiresGrad == true })
    }

    /// Records `body(doutPointer)` when `out` takes part in the gradient; skipped when no gradient reached it.
    func recordBackward(_ out: Variable, _ body: @escaping (UnsafePointer<Float>) -> Void) {
        guard out.requiresGrad else { return }
        record {
            guard !out.grad.isEmpty else { return }
            out.grad.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
    }

    /// `y[N,OC] = x[N,C]·Wᵀ + b` (`matmulForward` / `matmulBackward`).
    public func linear(_ x: Variable, weight: Variable, bias: Variable?, rows n: Int) -> Variable {
        let oc = weight.shape[0], c = weight.shape[1]
        precondition(x.count == n * c, "linear: input \(x.count) values, expected [\(n), \(c)]")
        var y = zeros(n * oc)
        y.withUnsafeMutableBufferPointer { yp in
            matmulForward(yp.baseAddress!, x.value, weight.value, bias?.value, rows: n, inFeatures: c, outFeatures: oc)
        }
        let out = output(y, shape: [n, oc], from: [x, weight, bias])
        recordBackward(out) { dout in
            x.withGrad { dx in weight.withGrad { dw in
                let body = { (db: UnsafeMutablePointer<Float>?) in
                    matmulBackward(dinp: dx, dweight: dw, dbias: db, dout: dout, inp: x.value, weight: weight.value,
                                   rows: n, inFeatures: c, outFeatures: oc)
                }
                if let bias { bias.withGrad(body) } else { body(nil) }
            } }
        }
        return out
    }

    /// Elementwise `a + b` (residual connection).
    public func add(_ a: Variable, _ b: Variable) -> Variable {
        precondition(a.count == b.count, "add: \(a.count) vs \(b.count) values")
        var y = a.value
        y.withUnsafeMutableBufferPointer { addForward($0.baseAddress!, $0.baseAddress!, b.value, count: $0.count) }
        let out = output(y, shape: a.shape, from: [a, b])
        recordBackward(out) { dout in
            a.withGrad { if let da = $0 { accumulate(da, dout, count: a.count) } }
            b.withGrad { if let db = $0 { accumulate(db, dout, count: b.count) } }
        }
        return out
    }

    /// Elementwise `a · b`.
    public func multiply(_ a: Variable, _ b: Variable) -> Variable {
        precondition(a.count == b.count, "multiply: \(a.count) vs \(b.count) values")
        let y = zip(a.value, b.value).map { $0 * $1 }
        let out = output(y, shape: a.shape, from: [a, b])
        recordBackward(out) { dout in
            a.withGrad { if let da = $0 { for i in 0..<a.count { da[i] += dout[i] * b.value[i] } } }
            b.withGrad { if let db = $0 { for i in 0..<b.count { db[i] += dout[i] * a.value[i] } } }
        }
        return out
    }

    /// `c·x` for a constant `c`.
    public func scale(_ x: Variable, by c: Float) -> Variable {
        let out = output(x.value.map { $0 * c }, shape: x.shape, from: [x])
        recordBackward(out) { dout in x.withGrad { if let dx = $0 { for i in 0..<x.count { dx[i] += c * dout[i] } } } }
        return out
    }

    /// RMSNorm or LayerNorm over rows of `x[N, C]` (`rmsNormForward` / `layerNormForward` and backwards).
    public func norm(_ x: Variable, kind: Norm.Kind, weight: Variable, bias: Variable?, eps: Float, rows n: Int) -> Variable {
        let c = weight.count
        var y = zeros(n * c), mean = zeros(n), rstd = zeros(n)
        y.withUnsafeMutableBufferPointer { yp in
            switch kind {
            case .rms: rmsNormForward(yp.baseAddress!, rstd: &rstd, x.value, weight: weight.value, rows: n, channels: c, eps: eps)
            case .layer: layerNormForward(yp.baseAddress!, mean: &mean, rstd: &rstd, x.value, weight: weight.value, bias: bias?.value,
                                          rows: n, channels: c, eps: eps)
            }
        }
        let out = output(y, shape: x.shape, from: [x, weight, bias])
        recordBackward(out) { dout in
            x.withGrad { dx in weight.withGrad { dw in
                switch kind {
                case .rms:
                    rmsNormBackward(dinp: dx, dweight: dw, dout: dout, inp: x.value, weight: weight.value, rstd: rstd, rows: n, channels: c)
                case .layer:
                    let body = { (db: UnsafeMutablePointer<Float>?) in
                        layerNormBackward(dinp: dx, dweight: dw, dbias: db, dout: dout, inp: x.value, weight: weight.value,
                                          mean: mean, rstd: rstd, rows: n, channels: c)
                    }
                    if let bias { bias.withGrad(body) } else { body(nil) }
                }
            } }
        }
        return out
    }

    /// FFN activation (`siluForward`, GELU forms, ReLU) and its backward.
    public func activation(_ x: Variable, _ kind: Activation) -> Variable {
        var y = zeros(x.count)
        y.withUnsafeMutableBufferPointer { yp in
            x.value.withUnsafeBufferPointer { xp in
                let o = yp.baseAddress!, i = xp.baseAddress!, n = x.count
                switch kind {
                case .silu: siluForward(o, i, count: n)
                case .geluErf: geluErfForward(o, i, count: n)
                case .geluTanh: geluTanhForward(o, i, count: n)
                case .relu: reluForward(o, i, count: n)
                }
            }
        }
        let out = output(y, shape: x.shape, from: [x])
        recordBackward(out) { dout in
            x.withGrad { dx in
                guard let dx else { return }
                switch kind {
                case .silu: siluBackward(dx, dout: dout, inp: x.value, count: x.count)
                case .geluErf: geluErfBackward(dx, dout: dout, inp: x.value, count: x.count)
                case .geluTanh: geluTanhBackward(dx, dout: dout, inp: x.value, count: x.count)
                case .relu: reluBackward(dx, dout: dout, inp: x.value, count: x.count)
                }
            }
        }
        return out
    }

    /// `silu(gate)·up` in one op (`swigluForward` / `swigluBackward`).
    public func swiglu(gate: Variable, up: Variable) -> Variable {
        var y = zeros(gate.count)
        y.withUnsafeMutableBufferPointer { swigluForward($0.baseAddress!, gate: gate.value, up: up.value, count: gate.count) }
        let out = output(y, shape: gate.shape, from: [gate, up])
        recordBackward(out) { dout in
            gate.withGrad { dg in up.withGrad { du in
                swigluBackward(dgate: dg, dup: du, dout: dout, gate: gate.value, up: up.value, count: gate.count)
            } }
        }
        return out
    }

    /// `tanh(x)` (BERT pooler).
    public func tanh(_ x: Variable) -> Variable {
        var y = zeros(x.count)
        y.withUnsafeMutableBufferPointer { tanhForward($0.baseAddress!, x.value, count: x.count) }
        let out = output(y, shape: x.shape, from: [x])
        recordBackward(out) { dout in
            x.withGrad { if let dx = $0 { out.value.withUnsafeBufferPointer { tanhBackward(dx, dout: dout, out: $0.baseAddress!, count: x.count) } } }
        }
        return out
    }

    /// `x[r, j]·scale[j]` (neuron masks and gates; the scale may be trainable).
    public func scaleColumns(_ x: Variable, _ scale: Variable, rows: Int) -> Variable {
        let cols = scale.count
        var y = x.value
        y.withUnsafeMutableBufferPointer { scaleColumnsForward($0.baseAddress!, scale.value, rows: rows, cols: cols) }
        let out = output(y, shape: x.shape, from: [x, scale])
        recordBackward(out) { dout in
            x.withGrad { dx in scale.withGrad { ds in
                scaleColumnsBackward(dinp: dx, dscale: ds, dout: dout, inp: x.value, scale: scale.value, rows: rows, cols: cols)
            } }
        }
        return out
    }

    /// Rotary embedding on `x[N, H·HD]` (`rotaryForward` / `rotaryBackward`).
    public func rotary(_ x: Variable, cos: [Float], sin: [Float], rows n: Int, heads: Int, headDim: Int) -> Variable {
        var y = x.value
        y.withUnsafeMutableBufferPointer { rotaryForward($0.baseAddress!, cos: cos, sin: sin, rows: n, heads: heads, headDim: headDim) }
        let out = output(y, shape: x.shape, from: [x])
        recordBackward(out) { dout in
            x.withGrad { dx in
                guard let dx else { return }
                var g = Array(UnsafeBufferPointer(start: dout, count: x.count))
                g.withUnsafeMutableBufferPointer { rotaryBackward($0.baseAddress!, cos: cos, sin: sin, rows: n, heads: heads, headDim: headDim) }
                accumulate(dx, g, count: x.count)
            }
        }
        return out
    }

    /// Rows `rowIndices` of `x[N, C]` gathered into `[R, C]` (the BERT `[CLS]` token).
    public func gatherRows(_ x: Variable, _ rowIndices: [Int], channels c: Int) -> Variable {
        var y = zeros(rowIndices.count * c)
        for (i, r) in rowIndices.enumerated() { for j in 0..<c { y[i * c + j] = x.value[r * c + j] } }
        let out = output(y, shape: [rowIndices.count, c], from: [x])
        recordBackward(out) { dout in
            x.withGrad { dx in
                guard let dx else { return }
                for (i, r) in rowIndices.enumerated() { for j in 0..<c { dx[r * c + j] += dout[i * c + j] } }
            }
        }
        return out
    }

    /// Token / position / type embedding lookup `out[N, C] = table[ids]` (`embeddingForward` / `embeddingBackward`).
    public func embedding(_ table: Variable, ids: [Int32]) -> Variable {
        let c = table.shape[1], n = ids.count
        var y = zeros(n * c)
        y.withUnsafeMutableBufferPointer { embeddingForward($0.baseAddress!, ids: ids, table: table.value, rows: n, channels: c) }
        let out = output(y, shape: [n, c], from: [table])
        recordBackward(out) { dout in
            table.withGrad { if let dt = $0 { embeddingBackward(dt, dout: dout, ids: ids, rows: n, channels: c) } }
        }
        return out
    }

    /// A value that blocks gradients (tensor substitution: the teacher's activation is a constant).
    public func constant(_ values: [Float], shape: [Int]) -> Variable { Variable(values, shape: shape) }
}
