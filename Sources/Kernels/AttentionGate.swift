import Foundation

/// Gated attention (Bondarenko et al. 2023, ALGORITHMS.md §3.2): per head h a small network G_h reads
/// its slice of the attention input and `π = sigmoid(G_h(x_h))` scales the head's context before the
/// output projection. Two kernels build it: a per-group linear (the stacked `G_h` layers) and the
/// sigmoid gate on the context. Shapes: N rows, G groups (= heads), `x[N, G·I]`, `weight[G, O, I]`
/// (group g's `nn.Linear(I, O)` weight), `bias[G, O]`, `out[N, G·O]`.

/// `out[n, g·O + o] = Σ_i x[n, g·I + i]·weight[g, o, i] + bias[g, o]` (one `nn.Linear` per group).
public func groupedLinearForward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>?, rows n: Int, groups: Int, inFeatures i: Int, outFeatures o: Int) {
    parallelRanges(n, costPerItem: groups * i * o) { start, end in
        for r in start..<end {
            for g in 0..<groups {
                let xr = x + r * groups * i + g * i
                for oo in 0..<o {
                    let w = weight + (g * o + oo) * i
                    var acc: Float = bias?[g * o + oo] ?? 0
                    for k in 0..<i { acc += xr[k] * w[k] }
                    out[r * groups * o + g * o + oo] = acc
                }
            }
        }
    }
}

/// Backward of `groupedLinearForward`: `dx += dout·W` per group, `dweight += doutᵀ·x`, `dbias += Σ_n dout`.
public func groupedLinearBackward(dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
                                  dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                  rows n: Int, groups: Int, inFeatures i: Int, outFeatures o: Int) {
    for r in 0..<n {
        for g in 0..<groups {
            let xr = x + r * groups * i + g * i
            for oo in 0..<o {
                let d = dout[r * groups * o + g * o + oo], w = weight + (g * o + oo) * i
                if let dx { for k in 0..<i { dx[r * groups * i + g * i + k] += d * w[k] } }
                if let dweight { let dw = dweight + (g * o + oo) * i; for k in 0..<i { dw[k] += d * xr[k] } }
                if let dbias { dbias[g * o + oo] += d }
            }
        }
    }
}

@inline(__always) func sigmoid(_ z: Float) -> Float { 1 / (1 + expf(-z)) }

/// `out[n, h·HD + d] = factor·sigmoid(logits[n / (N/R), h])·x[n, h·HD + d]` over `x[N, H·HD]`, with
/// `logits[R, H]`: R = N per token, R = B per sequence (conditional per head), R = 1 per head
/// (unconditional). `factor` is 1, or 1/π_init in fine-tuning mode (§3.2). `out` may alias `x`.
public func gateHeadsForward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, logits: UnsafePointer<Float>,
                             rows n: Int, logitRows r: Int, heads h: Int, headDim hd: Int, factor: Float) {
    let per = n / r
    parallelRanges(n, costPerItem: h * hd) { start, end in
        for row in start..<end {
            for head in 0..<h {
                let s = factor * sigmoid(logits[(row / per) * h + head]), base = row * h * hd + head * hd
                for d in 0..<hd { out[base + d] = s * x[base + d] }
            }
        }
    }
}

/// Backward of `gateHeadsForward` given its input `x`: `dx += factor·π·dout`,
/// `dlogits += factor·π(1−π)·Σ_d dout·x`.
public func gateHeadsBackward(dx: UnsafeMutablePointer<Float>?, dlogits: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                              x: UnsafePointer<Float>, logits: UnsafePointer<Float>,
                              rows n: Int, logitRows r: Int, heads h: Int, headDim hd: Int, factor: Float) {
    let per = n / r
    for row in 0..<n {
        for head in 0..<h {
            let li = (row / per) * h + head, p = sigmoid(logits[li]), base = row * h * hd + head * hd
            if let dx { let s = factor * p; for d in 0..<hd { dx[base + d] += s * dout[base + d] } }
            if let dlogits {
                var acc: Float = 0
                for d in 0..<hd { acc += dout[base + d] * x[base + d] }
                dlogits[li] += factor * p * (1 - p) * acc
            }
        }
    }
}

/// `out[b, c] = mean_t x[b·T + t, c]` over `x[B·T, C]` (the reference's `torch.mean(dim=1)` pooling of
/// per-token gate logits for `conditional_per_head`; every position counts, padding included, as there).
public func tokenMeanForward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, batch b: Int, seqLen t: Int, channels c: Int) {
    let inv = 1 / Float(t)
    for bi in 0..<b {
        for ch in 0..<c {
            var acc: Float = 0
            for ti in 0..<t { acc += x[(bi * t + ti) * c + ch] }
            out[bi * c + ch] = acc * inv
        }
    }
}

/// Backward of `tokenMeanForward`: `dx[b·T + t, c] += dout[b, c] / T`.
public func tokenMeanBackward(_ dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, batch b: Int, seqLen t: Int, channels c: Int) {
    let inv = 1 / Float(t)
    for bi in 0..<b { for ti in 0..<t { for ch in 0..<c { dx[(bi * t + ti) * c + ch] += dout[bi * c + ch] * inv } } }
}
