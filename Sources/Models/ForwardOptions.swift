import Kernels

/// The two sublayers of a transformer block.
public enum SublayerKind: String, Sendable, Hashable, Codable { case attention, mlp }

/// One sublayer of one layer (for skipping, FinerCut).
public struct SublayerID: Hashable, Sendable, Codable {
    public var layer: Int
    public var kind: SublayerKind
    public init(layer: Int, kind: SublayerKind) { self.layer = layer; self.kind = kind }
}

/// The typed sites every value of a block passes (docs/ARCHITECTURE.md "Sites"), in the order the
/// block reaches them. Shapes are `[B, T, width]` unless said otherwise.
public enum CapturePoint: String, Sendable, Hashable, CaseIterable, Codable {
    /// Embedding output entering layer 0 (key layer 0). Width C.
    case embeddings
    /// Input of q/k/v (after the pre-norm for pre-norm families; the block input for BERT). Width C.
    case attentionInput
    /// Queries, keys and values after their projections (and rotary for q, k). Width heads·HD / kvHeads·HD.
    case query, key, value
    /// `scale·q·kᵀ` with masked entries `-∞`. Shape `[B, NH, T, T]`.
    case scores
    /// Normalised scores (softmax or its clipped variant), before head masks and gates. `[B, NH, T, T]`.
    case probabilities
    /// Concatenated per-head context, the input of the output projection. Width heads·HD.
    case attentionContext
    /// Output projection result, before the residual add (and before BERT's LayerNorm). Width C.
    case attentionOutput
    /// Input of the FFN's first linear(s). Width C.
    case ffnInput
    /// First-linear output before the activation, after the neuron mask (`gate_proj` for SwiGLU). Width F.
    case ffnPreActivation
    /// Input of the second linear (`act(gate)·up` or `act(fc1)`). Width F.
    case ffnActivation
    /// Second linear's output, before the residual add. Width C.
    case ffnOutput
    /// Hidden state leaving the block. Width C.
    case blockOutput

    /// Sites only the step-by-step attention path materialises.
    public var needsAttentionSteps: Bool { self == .scores || self == .probabilities }
}

/// Names one site of one layer.
public struct CaptureKey: Hashable, Sendable {
    public var layer: Int
    public var point: CapturePoint
    public init(layer: Int, point: CapturePoint) { self.layer = layer; self.point = point }
}

/// A captured activation: values with its shape (`[B, T, width]` or `[B, NH, T, T]`).
public struct Activation3D: Sendable {
    public var values: [Float]
    public var shape: [Int]
}

/// The projections of a block by role (one family name table maps them to tensors: `FamilyLayout`).
public enum LinearRole: String, Sendable, Hashable, CaseIterable, Codable { case q, k, v, o, gate, up, down }

/// One projection of one layer.
public struct LinearSite: Hashable, Sendable {
    public var layer: Int
    public var role: LinearRole
    public init(layer: Int, role: LinearRole) { self.layer = layer; self.role = role }
}

/// A change of values at a site, with the gradient it passes back. `forward` edits the values in
/// place (`shape` as the site's); `backward(input, dout, dinp, shape)` accumulates into `dinp`.
public struct SiteTransform {
    public var forward: (UnsafeMutableBufferPointer<Float>, _ shape: [Int]) -> Void
    public var backward: (_ input: UnsafeBufferPointer<Float>, _ dout: UnsafeBufferPointer<Float>,
                          _ dinp: UnsafeMutableBufferPointer<Float>, _ shape: [Int]) -> Void

    /// An exact transform: `backward` is the true derivative of `forward`.
    public init(forward: @escaping (UnsafeMutableBufferPointer<Float>, [Int]) -> Void,
                backward: @escaping (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>, [Int]) -> Void) {
        self.forward = forward; self.backward = backward
    }

    /// Straight-through (fake quantization): the gradient passes unchanged where `|x| ≤ clip`
    /// and is zero where the input was clipped (nil: everywhere).
    public static func straightThrough(clip: Float? = nil, _ forward: @escaping (UnsafeMutableBufferPointer<Float>, [Int]) -> Void) -> SiteTransform {
        SiteTransform(forward: forward) { x, dout, dinp, _ in
            if let clip {
                for i in 0..<x.count where abs(x[i]) <= clip { dinp[i] += dout[i] }
            } else {
                for i in 0..<x.count { dinp[i] += dout[i] }
            }
        }
    }
}

/// What a hook does at its sites. Each states its gradient (docs/ARCHITECTURE.md "Hooks").
public enum SiteAction {
    /// Substitutes the values (teacher intervention): nothing flows back into what was replaced.
    /// Returning nil leaves the site alone.
    case replace((CaptureKey) -> [Float]?)
    /// Changes the values with the transform's gradient (nil: leave the site alone).
    case transform((CaptureKey) -> SiteTransform?)
}

/// A hook on some sites of some layers (nil layers: every layer).
public struct SiteHook {
    public var points: Set<CapturePoint>
    public var layers: Set<Int>?
    public var action: SiteAction
    public init(_ points: Set<CapturePoint>, layers: Set<Int>? = nil, _ action: SiteAction) {
        self.points = points; self.layers = layers; self.action = action
    }
    func applies(to key: CaptureKey) -> Bool { points.contains(key.point) && (layers?.contains(key.layer) ?? true) }
}

/// Optional hooks on one forward (docs/ARCHITECTURE.md "Hooks"). Defaults run the plain model.
/// Both executors — inference (`TransformerModel.forward`) and the training tape — honour all of them.
public struct ForwardOptions {
    /// `[layer][head]` factors multiplying attention probabilities (transformers `head_mask`).
    public var headMask: [[Float]]?
    /// `[layer][neuron]` factors on the FFN first-linear output *before* the activation. For SwiGLU
    /// it multiplies the `gate_proj` output: with 0, silu(0)·up = 0, so the neuron contributes nothing.
    public var neuronMask: [[Float]]?
    /// `[layer]` trainable gates `[heads]` multiplying attention probabilities (with `headMask`, both apply).
    public var headGates: [Variable]?
    /// `[layer]` trainable gates `[F]` on the FFN first-linear output (with `neuronMask`, both apply).
    public var neuronGates: [Variable]?
    /// Sublayers whose output is zeroed: the residual passes through unchanged (pre-norm). For
    /// post-norm BERT the LayerNorm still applies to the residual, like stock code with zeroed weights.
    /// Adds to the sublayers the model itself skips (`TransformerLayer.structure`).
    public var skip: Set<SublayerID>
    /// Sites to record; `captureLayers` limits the layers (nil: all).
    public var capture: Set<CapturePoint>
    public var captureLayers: Set<Int>?
    /// Attention normaliser for every layer; nil keeps each layer's own (from `config.json` `whittle`).
    public var attention: AttentionVariant?
    /// Hooks at sites, applied in order (each sees what the previous left); captures record the result.
    public var hooks: [SiteHook]
    /// Sites whose capture records the value arriving there, before the hooks act (a distillation
    /// loss on a value that is fake-quantized only for the next linear).
    public var captureBeforeHooks: Set<CapturePoint> = []
    /// A transform of each projection's weight before use (weight fake-quant), by layer and role.
    public var weightTransform: ((LinearSite) -> SiteTransform?)?
    /// Compute the head (logits / classifier). False stops after the last block (calibration).
    public var computeHead: Bool
    /// Positions of a causal LM that get logits: every one (perplexity, losses) or only each sequence's
    /// last, T − 1 (a prefill before generation: what llama.cpp's prompt pass computes). `.last` returns
    /// `[B, 1, V]`; the vocabulary projection then costs B rows instead of B·T.
    public var headRows: HeadRows

    public init(headMask: [[Float]]? = nil, neuronMask: [[Float]]? = nil, headGates: [Variable]? = nil, neuronGates: [Variable]? = nil,
                skip: Set<SublayerID> = [], capture: Set<CapturePoint> = [], captureLayers: Set<Int>? = nil,
                attention: AttentionVariant? = nil, hooks: [SiteHook] = [], weightTransform: ((LinearSite) -> SiteTransform?)? = nil,
                computeHead: Bool = true, headRows: HeadRows = .all) {
        self.headMask = headMask; self.neuronMask = neuronMask; self.headGates = headGates; self.neuronGates = neuronGates
        self.skip = skip; self.capture = capture; self.captureLayers = captureLayers; self.attention = attention
        self.hooks = hooks; self.weightTransform = weightTransform; self.computeHead = computeHead
        self.headRows = headRows
    }

    func wants(_ point: CapturePoint, layer: Int) -> Bool {
        capture.contains(point) && (captureLayers?.contains(layer) ?? true)
    }

    /// Whether anything reads or changes `point` in `layer`.
    func touches(_ point: CapturePoint, layer: Int) -> Bool {
        wants(point, layer: layer) || hooks.contains { $0.applies(to: CaptureKey(layer: layer, point: point)) }
    }
}

/// Which positions of a causal LM get logits (`ForwardOptions.headRows`).
public enum HeadRows: Sendable, Equatable { case all, last }

/// What a forward returns.
public struct ForwardOutput {
    /// Flat row-major values: `[B, T, V]` logits for a causal LM, `[B, numLabels]` for a classifier,
    /// `[B, T, C]` hidden states for an encoder or when `computeHead` is false.
    public var logits: [Float]
    public var shape: [Int]
    /// Requested activations by layer and site.
    public var captures: [CaptureKey: Activation3D]
    /// The hidden state after the last block `[B·T, C]` (before any final norm); `[B, C]`, the last
    /// rows, when `headRows` is `.last` and the last block kept only those (`canKeepRows`).
    public var lastHidden: [Float]
}

extension SiteTransform {
    /// The shared quantizer (`Kernels/Quantization`) as a transform: forward `fakeQuantizeForward`
    /// over the values viewed as `[count / C, C]` (C the last dimension: a weight's input features,
    /// an activation's channels), backward straight-through inside the clip range
    /// (`fakeQuantizeBackward`, ALGORITHMS.md §4.1). Use it at a site or as a weight transform.
    public static func fakeQuantize(_ quantizer: Quantizer) -> SiteTransform {
        precondition(quantizer.problem == nil, "fakeQuantize: \(quantizer.problem ?? "")")
        func rows(_ count: Int, _ shape: [Int]) -> (Int, Int) {
            let cols = shape.last ?? 1
            return (cols == 0 ? 0 : count / cols, cols)
        }
        return SiteTransform(forward: { x, shape in
            let (r, c) = rows(x.count, shape)
            quantizer.fakeQuantizeForward(x.baseAddress!, x.baseAddress!, rows: r, cols: c)
        }, backward: { x, dout, dinp, shape in
            let (r, c) = rows(x.count, shape)
            quantizer.fakeQuantizeBackward(dinp: dinp.baseAddress!, dout: dout.baseAddress!, inp: x.baseAddress!, rows: r, cols: c)
        })
    }
}
