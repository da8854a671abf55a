import Kernels
import Tensors

/// A per-head or per-neuron scale: constant factors (masks, pruned units), a trainable gate, or both
/// (multiplied).
public struct Scale {
    public var constant: [Float]?
    public var gate: Variable?
    public var count: Int { constant?.count ?? gate!.count }
}

/// Runs the ops of the one transformer block (`TransformerBlock.swift`). Two executors exist: the
/// eager one (inference: `[Float]` values, fused kernels) and the training tape's (values are tape
/// variables, each op records its backward). The block decides *what* runs; an executor decides how.
/// Ops return new values; an executor may reuse an input's storage when the block no longer needs it.
public protocol BlockExecutor: AnyObject {
    associatedtype Value
    var state: ForwardState { get }

    /// `x[N, in]·Wᵀ + b`, with `options.weightTransform` applied to the weight of `site` (nil: a head linear).
    func linear(_ x: Value, _ layer: any LinearLayer, _ site: LinearSite?) throws -> Value
    /// `linear` of each layer on the same `x` (a block's q, k, v; gate, up), in order; an executor may
    /// run them as one product (the eager one does at decode size: `fusedLinearForward`).
    func linears(_ x: Value, _ layers: [(layer: any LinearLayer, site: LinearSite?)]) throws -> [Value]
    func norm(_ x: Value, _ norm: Norm) -> Value
    func add(_ a: Value, _ b: Value) -> Value
    func multiply(_ a: Value, _ b: Value) -> Value
    func activation(_ x: Value, _ kind: Activation) -> Value
    func swiglu(gate: Value, up: Value) -> Value
    func tanh(_ x: Value) -> Value
    func rotary(_ x: Value, heads: Int, headDim: Int) -> Value
    /// `x[r, j]·scale[j]`.
    func scaleColumns(_ x: Value, _ scale: Scale) -> Value
    /// `table[ids]`; `stored` is the table left in the checkpoint when `table` is empty (streaming).
    func embedding(_ table: Variable, ids: [Int32], stored: Tensor?) -> Value
    func gatherRows(_ x: Value, _ rows: [Int], channels: Int) -> Value

    /// Fused attention: context `[N, NH·HD]` from q, k, v (probabilities never leave the kernel).
    func attention(q: Value, k: Value, v: Value, headScale: Scale?, _ g: AttentionGeometry) -> Value
    /// The same as steps, when a hook needs the scores or probabilities `[B, NH, T, T]`.
    func attentionScores(q: Value, k: Value, _ g: AttentionGeometry) -> Value
    func attentionNormalise(_ scores: Value, _ g: AttentionGeometry) -> Value
    /// `x[o, h, i]·scale[h]` over `x[outer, heads, inner]`.
    func scaleHeads(_ x: Value, _ scale: Scale, outer: Int, heads: Int, inner: Int) -> Value
    func attentionMix(probs: Value, v: Value, _ g: AttentionGeometry) -> Value

    /// Gated attention (`AttentionGate`): one `nn.Linear` per group over `x[N, G·I]` with stacked
    /// `weight[G, O, I]`, `bias[G, O]` → `[N, G·O]`.
    func groupedLinear(_ x: Value, weight: Variable, bias: Variable, groups: Int) -> Value
    /// `x[n, h·HD + d]·factor·sigmoid(logits[n / (N/R), h])` with `logits[R, H]`.
    func gateHeads(_ x: Value, logits: Value, logitRows: Int, heads: Int, headDim: Int, factor: Float) -> Value
    /// `[B·T, C]` → `[B, C]`: the mean over each sequence's positions.
    func tokenMean(_ x: Value, channels: Int) -> Value
    /// A parameter used as a value (an unconditional gate's logits).
    func parameter(_ p: Variable) -> Value

    /// Site hooks: values substituted (gradient stopped), transformed (the transform's gradient),
    /// and recorded.
    func replaced(_ x: Value, with values: [Float], shape: [Int]) -> Value
    func transformed(_ x: Value, _ transform: SiteTransform, shape: [Int]) -> Value
    func record(_ key: CaptureKey, _ x: Value, shape: [Int])
}

extension BlockExecutor {
    public func linears(_ x: Value, _ layers: [(layer: any LinearLayer, site: LinearSite?)]) throws -> [Value] {
        try layers.map { try linear(x, $0.layer, $0.site) }
    }

    /// Runs the hooks of `key` in order, then records the value when it was asked for.
    public func site(_ key: CaptureKey, _ x: Value, shape: [Int]) -> Value {
        let options = state.options
        var x = x
        let early = options.captureBeforeHooks.contains(key.point) && options.wants(key.point, layer: key.layer)
        if early { record(key, x, shape: shape) }
        for hook in options.hooks where hook.applies(to: key) {
            switch hook.action {
            case .replace(let values):
                guard let v = values(key) else { continue }
                precondition(v.count == shape.reduce(1, *), "replace at \(key): \(v.count) values for shape \(shape)")
                x = replaced(x, with: v, shape: shape)
            case .transform(let make):
                if let t = make(key) { x = transformed(x, t, shape: shape) }
            }
        }
        if !early && options.wants(key.point, layer: key.layer) { record(key, x, shape: shape) }
        return x
    }
}
