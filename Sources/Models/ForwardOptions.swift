import Kernels

/// The two sublayers of a transformer block.
public enum SublayerKind: String, Sendable, Hashable, Codable { case attention, mlp }

/// One sublayer of one layer (for skipping, FinerCut).
public struct SublayerID: Hashable, Sendable, Codable {
    public var layer: Int
    public var kind: SublayerKind
    public init(layer: Int, kind: SublayerKind) { self.layer = layer; self.kind = kind }
}

/// Activations the forward can capture (and `intervene` can replace), each `[B, T, width]`.
public enum CapturePoint: String, Sendable, Hashable, CaseIterable, Codable {
    /// Input of q/k/v (after the pre-norm for pre-norm families; the block input for BERT). Width C.
    case attentionInput
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
}

/// Names one captured activation.
public struct CaptureKey: Hashable, Sendable {
    public var layer: Int
    public var point: CapturePoint
    public init(layer: Int, point: CapturePoint) { self.layer = layer; self.point = point }
}

/// A captured activation: values with shape `[B, T, width]`.
public struct Activation3D: Sendable {
    public var values: [Float]
    public var shape: [Int]
}

/// Optional hooks on one forward (DESIGN.md §3 "Hooks, not forks"). Defaults run the plain model.
public struct ForwardOptions {
    /// `[layer][head]` factors multiplying attention probabilities (transformers `head_mask`).
    public var headMask: [[Float]]?
    /// `[layer][neuron]` factors on the FFN first-linear output *before* the activation. For SwiGLU
    /// it multiplies the `gate_proj` output: with 0, silu(0)·up = 0, so the neuron contributes nothing.
    public var neuronMask: [[Float]]?
    /// Sublayers whose output is zeroed: the residual passes through unchanged (pre-norm). For
    /// post-norm BERT the LayerNorm still applies to the residual, like stock code with zeroed weights.
    public var skip: Set<SublayerID>
    /// Points to record; `captureLayers` limits the layers (nil: all).
    public var capture: Set<CapturePoint>
    public var captureLayers: Set<Int>?
    /// Attention probability variant for every layer.
    public var attention: AttentionVariant
    /// Called at each requested capture point before it is used further; may modify the values in
    /// place (tensor substitution, e.g. teacher intervention). Buffer is `[B·T, width]`.
    public var intervene: ((CaptureKey, UnsafeMutableBufferPointer<Float>) -> Void)?
    /// Compute the head (logits / classifier). False stops after the last block (calibration).
    public var computeHead: Bool

    public init(headMask: [[Float]]? = nil, neuronMask: [[Float]]? = nil, skip: Set<SublayerID> = [],
                capture: Set<CapturePoint> = [], captureLayers: Set<Int>? = nil,
                attention: AttentionVariant = .standard,
                intervene: ((CaptureKey, UnsafeMutableBufferPointer<Float>) -> Void)? = nil,
                computeHead: Bool = true) {
        self.headMask = headMask; self.neuronMask = neuronMask; self.skip = skip
        self.capture = capture; self.captureLayers = captureLayers; self.attention = attention
        self.intervene = intervene; self.computeHead = computeHead
    }

    func wants(_ point: CapturePoint, layer: Int) -> Bool {
        capture.contains(point) && (captureLayers?.contains(layer) ?? true)
    }
}

/// What a forward returns.
public struct ForwardOutput {
    /// Flat row-major values: `[B, T, V]` logits for a causal LM, `[B, numLabels]` for a classifier,
    /// `[B, T, C]` hidden states for an encoder or when `computeHead` is false.
    public var logits: [Float]
    public var shape: [Int]
    /// Requested activations by layer and point.
    public var captures: [CaptureKey: Activation3D]
    /// The hidden state after the last block `[B·T, C]` (before any final norm).
    public var lastHidden: [Float]
}
