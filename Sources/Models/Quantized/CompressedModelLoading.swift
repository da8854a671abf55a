import Checkpoints

extension TransformerModel {
    /// Loads any checkpoint Whittle writes — plain, pruned, NF4 or int8 — the way it will run:
    /// quantized layouts are read through `QuantizedTensorStore` and their linears compute on the
    /// quantized weights (`NF4Linear`, `W8A8Linear` with per-token activation quantization).
    public static func loadCompressed(from store: TensorStore) throws -> TransformerModel {
        let quantized = try QuantizedTensorStore(store)
        let model = try load(from: quantized)
        try quantized.installQuantizedLinears(in: model)
        return model
    }
}
