import Checkpoints

extension TransformerModel {
    /// Loads any checkpoint Whittle writes — plain, pruned, NF4, int8 or a `qat` student — the way it
    /// will run: quantized layouts are read through `QuantizedTensorStore` and their linears compute on
    /// the quantized weights (`NF4Linear`, `W8A8Linear` with per-token activation quantization,
    /// `PackedLinear`). A `qat` student (`whittle.quantization`) also gets the activation quantization
    /// it was trained with as `hooks`, so it computes what the fake-quantized student computed in
    /// training; `packedKernels: false` runs its packed weights dequantized in f32 instead (the
    /// training arithmetic itself: the same logits bit for bit). Weights stored as BF16 / F16 stay in
    /// 16 bits (`HalfLinear`, a 16-bit token table read in place) unless `halfWeights` is false or
    /// `packedKernels` is: then they are upcast to f32 `Linear`s, as training loads them.
    public static func loadCompressed(from store: TensorStore, packedKernels: Bool = true, halfWeights: Bool = true) throws -> TransformerModel {
        let quantized = try QuantizedTensorStore(store)
        let model = try load(from: quantized, halfWeights: halfWeights && packedKernels)
        if packedKernels || quantized.layout != .packed { try quantized.installQuantizedLinears(in: model) }
        if let q = quantized.quantization {
            // Packed linears quantize their own input with the same quantizer: those sites are left to them.
            let linearInputs: Set<CapturePoint> = [.attentionInput, .attentionContext, .ffnInput, .ffnActivation]
            let allPacked = model.layers.allSatisfy { $0.linears.allSatisfy { $0.1 is PackedLinear } }
            model.hooks = q.hooks(except: allPacked ? linearInputs : [])
        }
        return model
    }
}
