import Kernels
import Checkpoints

/// y = x·Wᵀ + b with W in NF4, multiplied on the packed codes (`nf4LinearForward`).
public final class NF4Linear: LinearLayer {
    public let weight: NF4Matrix
    public let bias: [Float]?
    public var inFeatures: Int { weight.cols }
    public var outFeatures: Int { weight.rows }

    public init(weight: NF4Matrix, bias: [Float]?) { self.weight = weight; self.bias = bias }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) {
        if let bias {
            bias.withUnsafeBufferPointer { nf4LinearForward(y: out, x: inp, weight: weight, bias: $0.baseAddress, m: rows) }
        } else {
            nf4LinearForward(y: out, x: inp, weight: weight, bias: nil, m: rows)
        }
    }
}

/// W8A8: activations quantized per token at run time, int8 × int8 → int32, rescaled (`w8a8LinearForward`);
/// the arithmetic compressed-tensors' W8A8 config asks a runtime for.
public final class W8A8Linear: LinearLayer {
    public let weight: [Int8]
    public let scale: [Float]
    public let bias: [Float]?
    public let inFeatures: Int
    public let outFeatures: Int

    public init(weight: [Int8], scale: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int) {
        precondition(weight.count == inFeatures * outFeatures && scale.count == outFeatures, "W8A8Linear: shape mismatch")
        self.weight = weight; self.scale = scale; self.bias = bias
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
    }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) {
        weight.withUnsafeBufferPointer { w in
            scale.withUnsafeBufferPointer { s in
                if let bias {
                    bias.withUnsafeBufferPointer { b in
                        w8a8LinearForward(y: out, x: inp, weight: w.baseAddress!, weightScale: s.baseAddress!, bias: b.baseAddress,
                                          m: rows, n: outFeatures, k: inFeatures)
                    }
                } else {
                    w8a8LinearForward(y: out, x: inp, weight: w.baseAddress!, weightScale: s.baseAddress!, bias: nil,
                                      m: rows, n: outFeatures, k: inFeatures)
                }
            }
        }
    }
}

/// Static W8A8: activations quantized with the calibrated per-tensor scale and zero point stored
/// beside the weight (`input_scale`, `input_zero_point`), int8 × int8 → int32 with the zero-point
/// correction (`int8StaticLinearForward`); what a compressed-tensors static checkpoint asks for.
public final class StaticW8A8Linear: LinearLayer {
    public let weight: [Int8]
    /// Per output row (a per-tensor scale repeated).
    public let scale: [Float]
    public let input: AsymmetricUInt8Params
    public let bias: [Float]?
    public let inFeatures: Int
    public let outFeatures: Int

    public init(weight: [Int8], scale: [Float], input: AsymmetricUInt8Params, bias: [Float]?, inFeatures: Int, outFeatures: Int) {
        precondition(weight.count == inFeatures * outFeatures && scale.count == outFeatures, "StaticW8A8Linear: shape mismatch")
        self.weight = weight; self.scale = scale; self.input = input; self.bias = bias
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
    }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) {
        weight.withUnsafeBufferPointer { w in
            scale.withUnsafeBufferPointer { s in
                if let bias {
                    bias.withUnsafeBufferPointer { b in
                        int8StaticLinearForward(y: out, x: inp, input: input, weight: w.baseAddress!, weightScale: s.baseAddress!,
                                                bias: b.baseAddress, m: rows, n: outFeatures, k: inFeatures)
                    }
                } else {
                    int8StaticLinearForward(y: out, x: inp, input: input, weight: w.baseAddress!, weightScale: s.baseAddress!,
                                            bias: nil, m: rows, n: outFeatures, k: inFeatures)
                }
            }
        }
    }
}

extension QuantizedTensorStore {
    /// Module names of a block's linears, per family (FamilyWeights' naming), for the layers the
    /// quantized kernels can replace. GPT-2's fused Conv1D projections keep the dequantized path.
    static func linearModules(family: ModelFamily, layer i: Int, prefix: String) -> [ReferenceWritableKeyPath<TransformerLayer, any LinearLayer>: String] {
        switch family {
        case .llama, .qwen2, .mistral:
            let p = prefix + "layers.\(i)."
            return [\.q: p + "self_attn.q_proj", \.k: p + "self_attn.k_proj", \.v: p + "self_attn.v_proj",
                    \.o: p + "self_attn.o_proj", \.up: p + "mlp.up_proj", \.down: p + "mlp.down_proj"]
        case .bert:
            let p = prefix + "encoder.layer.\(i)."
            return [\.q: p + "attention.self.query", \.k: p + "attention.self.key", \.v: p + "attention.self.value",
                    \.o: p + "attention.output.dense", \.up: p + "intermediate.dense", \.down: p + "output.dense"]
        case .gpt2:
            return [:]
        }
    }

    /// Replaces the model's f32 linears whose weights are quantized in this store by `NF4Linear`,
    /// `W8A8Linear` (`StaticW8A8Linear` where static input parameters are stored) or `PackedLinear`, so
    /// the forward computes on the quantized weights. Returns how many were replaced.
    @discardableResult
    public func installQuantizedLinears(in model: TransformerModel) throws -> Int {
        guard layout != .none else { return 0 }
        let prefixes: [String]
        switch model.config.family {
        case .llama, .qwen2, .mistral: prefixes = ["model.", ""]
        case .bert: prefixes = ["bert.", ""]
        case .gpt2: return 0
        }
        var replaced = 0
        // An untied `lm_head` written quantized (the int8 pass with "lm_head" in targets) computes the logits.
        if model.head.lmHead != nil, !model.config.tieWordEmbeddings, let head = try quantizedLinear(model.layout.lmHead) {
            model.head.lmHead = head; replaced += 1
        }
        for layer in model.layers {
            for prefix in prefixes {
                for (path, module) in Self.linearModules(family: model.config.family, layer: layer.index, prefix: prefix) {
                    if let linear = try quantizedLinear(module) { layer[keyPath: path] = linear; replaced += 1 }
                }
                // SwiGLU's gate is optional in TransformerLayer, so it is not in the key-path table.
                if layer.gate != nil, model.config.family != .bert,
                   let linear = try quantizedLinear(prefix + "layers.\(layer.index).mlp.gate_proj") {
                    layer.gate = linear; replaced += 1
                }
            }
        }
        return replaced
    }

    func quantizedLinear(_ module: String) throws -> (any LinearLayer)? {
        let name = module + ".weight"
        guard quantizedWeights.contains(name) else { return nil }
        let bias = base.contains(module + ".bias") ? try base.floats(module + ".bias") : nil
        switch layout {
        case .nf4:
            return NF4Linear(weight: NF4Matrix(try nf4Weight(name)), bias: bias)
        case .int8:
            // A qat student's 8-bit weights run as trained: dequantized, with its activation hooks.
            if quantization?.activations != nil { return nil }
            let (q, scale, shape) = try int8Weight(name)
            if let input = try int8StaticInput(module) {
                return StaticW8A8Linear(weight: q, scale: scale, input: input, bias: bias, inFeatures: shape[1], outFeatures: shape[0])
            }
            return W8A8Linear(weight: q, scale: scale, bias: bias, inFeatures: shape[1], outFeatures: shape[0])
        case .packed:
            // Ternary / 2-bit per-tensor weights with quantized activations run on the packed kernel;
            // anything else (4-bit, no activation quantization) runs dequantized, as trained.
            guard let a = quantization?.activations, [.symmetric, .int8].contains(a.scheme),
                  let entry = quantization?.weights[name], PackedLayout.fieldBits(entry.quantizer) == 2,
                  entry.quantizer.granularity == .tensor else { return nil }
            let (codes, scales) = try packedWeight(name)
            return PackedLinear(weight: codes, scale: scales[0], activations: a, bias: bias)
        case .none:
            return nil
        }
    }
}
