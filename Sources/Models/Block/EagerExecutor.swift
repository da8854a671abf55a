import COpenBLAS
import Kernels
import Tensors

/// Inference: runs the block's ops on `[Float]` values with the fast kernels (fused attention,
/// in-place updates where the block no longer needs an input). Records captures in `state`.
public final class EagerExecutor: BlockExecutor {
    public private(set) var state: ForwardState

    public init(state: ForwardState) { self.state = state }

    var rows: Int { state.rows }

    public func linear(_ x: [Float], _ layer: any LinearLayer, _ site: LinearSite?) throws -> [Float] {
        guard let site, let transform = state.options.weightTransform?(site) else {
            let rows = x.count / layer.inFeatures
            // A KV-cache forward's few rows (the prompt, sequences decoding together) on the GEMV (`Linear.fewRows`).
            if state.cache != nil, rows > 1, let f32 = layer as? Linear, let y = f32.fewRows(x, rows: rows) { return y }
            return layer(x, rows: rows)
        }
        guard let l = layer as? Linear else {
            throw ModelError.unsupportedOption(option: "weightTransform", reason: "layer \(site.layer) \(site.role.rawValue) is \(type(of: layer)), not an f32 Linear")
        }
        var w = l.weight
        w.withUnsafeMutableBufferPointer { transform.forward($0, l.weightParameter.shape) }
        let n = x.count / l.inFeatures
        return [Float](unsafeUninitializedCapacity: n * l.outFeatures) { y, count in
            matmulForward(y.baseAddress!, x, w, l.bias, rows: n, inFeatures: l.inFeatures, outFeatures: l.outFeatures)
            count = n * l.outFeatures
        }
    }

    public func linears(_ x: [Float], _ layers: [(layer: any LinearLayer, site: LinearSite?)]) throws -> [[Float]] {
        let transform = state.options.weightTransform
        if layers.count > 1, let first = layers.first, x.count % first.layer.inFeatures == 0,
           transform == nil || layers.allSatisfy({ $0.site.flatMap { transform!($0) } == nil }),
           let ys = fusedLinearForward(layers.map(\.layer), x, rows: x.count / first.layer.inFeatures, fewRowGemv: state.cache != nil) {
            return ys
        }
        return try layers.map { try linear(x, $0.layer, $0.site) }
    }

    // norm, add, multiply, swiglu write a new array: their input is still held by the block (the residual,
    // the projections), so writing in place would first copy it (≈ 8 MB a SmolLM2 layer at 512 tokens).
    public func norm(_ x: [Float], _ norm: Norm) -> [Float] {
        fresh(x.count) { norm.forward($0, x, rows: x.count / norm.weight.count) }
    }

    public func add(_ a: [Float], _ b: [Float]) -> [Float] {
        fresh(a.count) { addForward($0, a, b, count: a.count) }
    }

    public func multiply(_ a: [Float], _ b: [Float]) -> [Float] {
        fresh(a.count) { multiplyForward($0, a, b, count: a.count) }
    }

    public func activation(_ x: [Float], _ kind: Activation) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { kind.apply($0.baseAddress!, count: $0.count) }
        return y
    }

    public func swiglu(gate: [Float], up: [Float]) -> [Float] {
        fresh(gate.count) { swigluForward($0, gate: gate, up: up, count: gate.count) }
    }

    public func tanh(_ x: [Float]) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { tanhForward($0.baseAddress!, $0.baseAddress!, count: $0.count) }
        return y
    }

    public func rotary(_ x: [Float], heads: Int, headDim: Int) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer {
            rotaryForward($0.baseAddress!, cos: state.cos!, sin: state.sin!, rows: rows, heads: heads, headDim: headDim)
        }
        return y
    }

    /// The product of a scale's constant factors and gate values.
    func factors(_ s: Scale) -> [Float] {
        switch (s.constant, s.gate) {
        case let (c?, g?): return zip(c, g.value).map { $0 * $1 }
        case let (c?, nil): return c
        case let (nil, g?): return g.value
        case (nil, nil): preconditionFailure("empty Scale")
        }
    }

    public func scaleColumns(_ x: [Float], _ scale: Scale) -> [Float] {
        var y = x
        let f = factors(scale)
        y.withUnsafeMutableBufferPointer { scaleColumnsForward($0.baseAddress!, f, rows: $0.count / f.count, cols: f.count) }
        return y
    }

    public func embedding(_ table: Variable, ids: [Int32], stored: Tensor?) -> [Float] {
        let c = table.shape[1], n = ids.count
        return [Float](unsafeUninitializedCapacity: n * c) { o, count in
            if table.count == 0, let stored {
                let rowBytes = c * stored.dtype.byteSize
                for (r, id) in ids.enumerated() {
                    let start = Int(id) * rowBytes
                    DTypeConversion.load(UnsafeRawBufferPointer(rebasing: stored.bytes[start..<(start + rowBytes)]), as: stored.dtype,
                                         into: UnsafeMutableBufferPointer(start: o.baseAddress! + r * c, count: c))
                }
            } else {
                embeddingForward(o.baseAddress!, ids: ids, table: table.value, rows: n, channels: c)
            }
            count = n * c
        }
    }

    public func gatherRows(_ x: [Float], _ rowIndices: [Int], channels c: Int) -> [Float] {
        rowIndices.flatMap { x[($0 * c)..<(($0 + 1) * c)] }
    }

    public func attention(q: [Float], k: [Float], v: [Float], headScale: Scale?, _ g: AttentionGeometry) -> [Float] {
        let mask = headScale.map(factors)
        if let cache = state.cache, var cg = state.cacheGeometry {
            // Incremental forward: the new keys and values join the cache, queries read all of it.
            cache.store(layer: g.layer, k: k, v: v, cg)
            cg.window = g.window
            return [Float](unsafeUninitializedCapacity: g.rows * g.heads * g.headDim) { out, count in
                cache.withLayer(g.layer) { kc, vc in
                    withOptionalPointer(mask) { hm in
                        cachedAttentionForward(out.baseAddress!, q: q, kCache: kc, vCache: vc, cg, headMask: hm, variant: g.variant,
                                               heads: g.heads, kvHeads: g.kvHeads, headDim: g.headDim, scale: g.scale)
                    }
                }
                count = g.rows * g.heads * g.headDim
            }
        }
        // `PanelGemm.soloAttention`: OpenBLAS on one thread for attention's small products at prefill size
        // (the linears run on the pool there), so its idle worker does not spin beside the pool's helper;
        // the heads are then spread over the pool's seats instead (`attentionForward(headsOnCores:)`).
        let solo = PanelGemm.soloAttention && Threads.count > 1 && panelGemmRuns(rows: g.rows)
        if solo { openblas_set_num_threads(1) }
        defer { if solo { openblas_set_num_threads(Int32(Threads.count)) } }
        return [Float](unsafeUninitializedCapacity: g.rows * g.heads * g.headDim) { out, count in
            g.withMask { m in
                withOptionalPointer(mask) { hm in
                    attentionForward(out.baseAddress!, probs: nil, q: q, k: k, v: v, mask: m, headMask: hm, variant: g.variant,
                                     batch: g.batch, seqLen: g.seqLen, heads: g.heads, kvHeads: g.kvHeads, headDim: g.headDim, scale: g.scale,
                                     headsOnCores: solo && PanelGemm.headsOnCores)
                }
            }
            count = g.rows * g.heads * g.headDim
        }
    }

    public func attentionScores(q: [Float], k: [Float], _ g: AttentionGeometry) -> [Float] {
        var s = [Float](repeating: 0, count: g.scoresShape.reduce(1, *))
        s.withUnsafeMutableBufferPointer { sp in
            g.withMask { m in
                attentionScoresForward(sp.baseAddress!, q: q, k: k, mask: m, batch: g.batch, seqLen: g.seqLen, heads: g.heads,
                                       kvHeads: g.kvHeads, headDim: g.headDim, scale: g.scale)
            }
        }
        return s
    }

    public func attentionNormalise(_ scores: [Float], _ g: AttentionGeometry) -> [Float] {
        var p = scores
        p.withUnsafeMutableBufferPointer {
            attentionNormaliseForward($0.baseAddress!, softmaxOut: nil, scores: $0.baseAddress!, variant: g.variant,
                                      rows: g.batch * g.heads * g.seqLen, seqLen: g.seqLen)
        }
        return p
    }

    public func scaleHeads(_ x: [Float], _ scale: Scale, outer: Int, heads: Int, inner: Int) -> [Float] {
        var y = x
        let f = factors(scale)
        y.withUnsafeMutableBufferPointer { scaleHeadsForward($0.baseAddress!, f, outer: outer, heads: heads, inner: inner) }
        return y
    }

    public func attentionMix(probs: [Float], v: [Float], _ g: AttentionGeometry) -> [Float] {
        [Float](unsafeUninitializedCapacity: g.rows * g.heads * g.headDim) { out, count in
            attentionMixForward(out.baseAddress!, probs: probs, v: v, batch: g.batch, seqLen: g.seqLen, heads: g.heads,
                                kvHeads: g.kvHeads, headDim: g.headDim)
            count = g.rows * g.heads * g.headDim
        }
    }

    public func groupedLinear(_ x: [Float], weight: Variable, bias: Variable, groups: Int) -> [Float] {
        let i = x.count / (rows * groups), o = bias.count / groups
        return [Float](unsafeUninitializedCapacity: rows * groups * o) { out, count in
            groupedLinearForward(out.baseAddress!, x, weight: weight.value, bias: bias.value, rows: rows, groups: groups, inFeatures: i, outFeatures: o)
            count = rows * groups * o
        }
    }

    public func gateHeads(_ x: [Float], logits: [Float], logitRows: Int, heads: Int, headDim: Int, factor: Float) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer {
            gateHeadsForward($0.baseAddress!, $0.baseAddress!, logits: logits, rows: rows, logitRows: logitRows, heads: heads, headDim: headDim, factor: factor)
        }
        return y
    }

    public func tokenMean(_ x: [Float], channels: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: state.batch * channels) { out, count in
            tokenMeanForward(out.baseAddress!, x, batch: state.batch, seqLen: state.seqLen, channels: channels)
            count = state.batch * channels
        }
    }

    public func parameter(_ p: Variable) -> [Float] { p.value }

    public func replaced(_ x: [Float], with values: [Float], shape: [Int]) -> [Float] { values }

    public func transformed(_ x: [Float], _ transform: SiteTransform, shape: [Int]) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { transform.forward($0, shape) }
        return y
    }

    public func record(_ key: CaptureKey, _ x: [Float], shape: [Int]) {
        state.captures[key] = Activation3D(values: x, shape: shape)
    }
}

/// A new array of `count` values, every one written by `body`.
@inline(__always)
func fresh(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    [Float](unsafeUninitializedCapacity: max(1, count)) { y, n in body(y.baseAddress!); n = count }
}

@inline(__always)
func withOptionalPointer<R>(_ a: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let a else { return body(nil) }
    return a.withUnsafeBufferPointer { body($0.baseAddress) }
}

extension TransformerLayer {
    /// Runs this block on `x[B·T, C]` in place (inference), honouring the hooks in `state.options`.
    public func forward(_ x: inout [Float], state: inout ForwardState) throws {
        precondition(x.count == state.rows * hidden, "TransformerLayer.forward: \(x.count) values for [\(state.rows), \(hidden)]")
        let e = EagerExecutor(state: state)
        x = try run(x, on: e)
        state = e.state
    }
}
