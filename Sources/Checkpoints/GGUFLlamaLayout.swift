/// How a llama.cpp model file maps onto a Hugging Face checkpoint, for the families llama.cpp's
/// converter (convert_hf_to_gguf.py) writes with the `llama` block: `llama` (Llama, Mistral) and
/// `qwen2`. Names: llama.cpp's gguf-py `constants.py` tensor table. Hyper-parameters:
/// `<arch>.<key>` metadata (gguf-py `Keys.LLM` / `Keys.Attention` / `Keys.Rope`).
public struct GGUFLlamaLayout: Sendable {
    public let architecture: String
    /// Hugging Face `model_type` and `architectures[0]`.
    public let modelType: String
    public let hfArchitecture: String
    /// Whether q/k rows were permuted by the converter (its `LlamaModel.permute`): true for `llama`;
    /// `qwen2` keeps Hugging Face's order (llama.cpp runs it with NeoX-style rotary).
    public let permutesQK: Bool

    public static let supported = ["llama", "qwen2"]

    public init?(architecture: String) {
        self.architecture = architecture
        switch architecture {
        case "llama": modelType = "llama"; hfArchitecture = "LlamaForCausalLM"; permutesQK = true
        case "qwen2": modelType = "qwen2"; hfArchitecture = "Qwen2ForCausalLM"; permutesQK = false
        default: return nil
        }
    }

    /// llama.cpp block tensor → Hugging Face name inside `model.layers.N.`.
    static let blockNames: [String: String] = [
        "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj",
        "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    ]
    /// Every block must have these (biases are optional).
    static let requiredBlockTensors = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                       "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]
    static let globalNames = ["token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                              "output.weight": "lm_head.weight"]

    /// The Hugging Face name of a llama.cpp tensor and, for q and k, whose head count groups its rows
    /// (`nil`: stored in Hugging Face order). Nil for a name outside the table.
    public func hfName(_ ggufName: String) -> (name: String, permutation: QKRows?)? {
        if let global = Self.globalNames[ggufName] { return (global, nil) }
        let parts = ggufName.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0, String(layer) == parts[1],
              let role = Self.blockNames[String(parts[2])], parts[3] == "weight" || parts[3] == "bias" else { return nil }
        let rows: QKRows? = permutesQK ? (parts[2] == "attn_q" ? .queryHeads : parts[2] == "attn_k" ? .keyValueHeads : nil) : nil
        return ("model.layers.\(layer).\(role).\(parts[3])", rows)
    }

    public enum QKRows: Sendable { case queryHeads, keyValueHeads }
}

/// Undoes llama.cpp's q/k row permutation. The converter groups the rows by head and, in each head of
/// `d` rows, interleaves the two halves that Hugging Face's `rotate_half` pairs: HF row `j·d/2 + i`
/// (half j, index i) is stored at row `2i + j`. `values` is [rows, columns] row-major (a bias has one
/// column); `heads` divides rows into heads of an even size.
public func unpermuteGGUFRows(_ values: [Float], rows: Int, columns: Int, heads: Int) -> [Float] {
    moveGGUFRows(values, rows: rows, columns: columns, heads: heads, toStored: false)
}

/// The converter's permutation as a row order: for each stored (llama.cpp) row, the Hugging Face row
/// it holds — what `permuteGGUFRows` moves, for a writer that gathers rows instead of copying the tensor.
public func ggufStoredRowSources(rows: Int, heads: Int) -> [Int] {
    precondition(heads > 0 && rows % (2 * heads) == 0)
    let d = rows / heads, half = d / 2
    var sources = [Int](repeating: 0, count: rows)
    for h in 0..<heads {
        for j in 0..<2 {
            for i in 0..<half { sources[h * d + 2 * i + j] = h * d + j * half + i }
        }
    }
    return sources
}

/// Applies the converter's permutation (HF order → llama.cpp order), for writing.
public func permuteGGUFRows(_ values: [Float], rows: Int, columns: Int, heads: Int) -> [Float] {
    moveGGUFRows(values, rows: rows, columns: columns, heads: heads, toStored: true)
}

private func moveGGUFRows(_ values: [Float], rows: Int, columns: Int, heads: Int, toStored: Bool) -> [Float] {
    precondition(heads > 0 && rows % (2 * heads) == 0 && values.count == rows * columns)
    let d = rows / heads, half = d / 2
    var out = [Float](repeating: 0, count: values.count)
    values.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for h in 0..<heads {
                for j in 0..<2 {
                    for i in 0..<half {
                        let hfRow = h * d + j * half + i, stored = h * d + 2 * i + j
                        let (from, to) = toStored ? (hfRow, stored) : (stored, hfRow)
                        for c in 0..<columns { dst[to * columns + c] = src[from * columns + c] }
                    }
                }
            }
        }
    }
    return out
}
