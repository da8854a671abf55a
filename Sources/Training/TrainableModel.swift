import Kernels
import Models

/// What a taped forward returns.
public struct TrainingForward {
    /// `[B·T, V]` logits (causal LM), `[B, numLabels]` (classifier), `[B·T, C]` (encoder / no head).
    public var logits: Variable
    public var shape: [Int]
    /// Requested sites as tape variables (distillation losses on them get gradients).
    public var captures: [CaptureKey: Variable]
    public var lastHidden: Variable
}

/// A `TransformerModel` on the training tape. The weights are the model's own `Variable`s — there
/// is no copy: training changes the model in place. The forward is the one block
/// (`Models/Block/TransformerBlock.swift`) run by `TapeExecutor`, so every hook and everything the
/// checkpoint's `whittle` section says (removed sublayers, masked units) holds in training too.
public final class TrainableModel {
    public let model: TransformerModel
    public var config: ModelConfig { model.config }

    /// Checks that every projection is an f32 `Linear` (quantized layers cannot be trained).
    public init(_ model: TransformerModel) throws {
        self.model = model
        for layer in model.layers {
            for (role, l) in layer.linears where !(l is Linear) {
                throw TrainingError.untrainableLayer(name: model.layout.linear(role, layer: layer.index)?.name ?? "layer \(layer.index) \(role)",
                                                     type: "\(type(of: l))")
            }
        }
        for (name, l) in [("lm_head", model.head.lmHead), ("pooler", model.head.pooler), ("classifier", model.head.classifier)] {
            if let l, !(l is Linear) { throw TrainingError.untrainableLayer(name: name, type: "\(type(of: l))") }
        }
    }

    /// The parameters an optimizer updates: every distinct weight variable, except those of
    /// sublayers the model removed (they stay exactly as pruning left them).
    public var parameters: [Variable] { model.parameters(trainable: true) }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Runs the model on `tape`: the same block, sites and hooks as `TransformerModel.forward`.
    public func forward(_ input: ModelInput, options: ForwardOptions = ForwardOptions(), tape: Tape) throws -> TrainingForward {
        try forward(input, options: options, detachingInputsOf: [], tape: tape)
    }

    /// The same, with the inputs of the `detached` projections (every layer) entering as constants:
    /// their weights train, no gradient flows through them into the layer input (teacher intervention);
    /// and `transformed` weights (by identity: the token table, the pooler) passed through their
    /// transform wherever they are used (fake quantization the block's `weightTransform` does not reach).
    public func forward(_ input: ModelInput, options: ForwardOptions, detachingInputsOf detached: Set<LinearRole>,
                        transforming transformed: [(Variable, SiteTransform)] = [], tape: Tape) throws -> TrainingForward {
        let e = TapeExecutor(state: try ForwardState(config: config, input: input, options: options), tape: tape)
        e.detachedInputs = detached
        for (v, t) in transformed { e.parameterTransforms[ObjectIdentifier(v)] = t }
        var x = model.embeddings.run(input, on: e)
        for layer in model.layers { x = try layer.run(x, on: e) }
        let st = e.state
        guard options.computeHead else {
            return TrainingForward(logits: x, shape: [st.batch, st.seqLen, config.hidden], captures: e.captures, lastHidden: x)
        }
        let (logits, shape) = try model.head.run(x, on: e, config: config)
        return TrainingForward(logits: logits, shape: shape, captures: e.captures, lastHidden: x)
    }
}
