import Tensors

/// GPT-2 keeps its block projections as transformers' `Conv1D`, whose weight is stored [in, out] —
/// the transpose of an `nn.Linear` weight. bitsandbytes quantizes such a weight transposed, as
/// [out, in] (transformers' bitsandbytes quantizer transposes Conv1D weights before `Params4bit`), so
/// the `nf4` pass does the same and `QuantizedTensorStore` turns it back; compressed-tensors
/// quantizes `nn.Linear` only (its loaders would not run a Conv1D quantized).
public enum Conv1DWeights {
    /// Whether `name` is a Conv1D weight of a model whose `config.json` has this `model_type`
    /// (by the family name table, with or without the base-model prefix).
    public static func contains(_ name: String, config: [String: Any]) -> Bool {
        (config["model_type"] as? String) == "gpt2"
            && [FamilyLayout(family: .gpt2), FamilyLayout(family: .gpt2, prefix: "")].contains { $0.isTransposedWeight(name) }
    }

    /// A 2-D tensor transposed (a Conv1D weight [in, out] → the Linear layout [out, in], and back);
    /// F16/BF16 stay so (exactly), anything else becomes F32.
    public static func transposed(_ tensor: Tensor) -> Tensor {
        precondition(tensor.shape.count == 2, "Conv1DWeights.transposed: expected a 2-D tensor, got \(tensor.shape)")
        let (rows, cols) = (tensor.shape[0], tensor.shape[1])
        let values = tensor.floats()
        let out = [Float](unsafeUninitializedCapacity: values.count) { buffer, count in
            for r in 0..<rows { for c in 0..<cols { buffer[c * rows + r] = values[r * cols + c] } }
            count = values.count
        }
        return Tensor(floats: out, shape: [cols, rows], dtype: [.F16, .BF16].contains(tensor.dtype) ? tensor.dtype : .F32)
    }
}
