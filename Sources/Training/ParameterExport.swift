import Models

/// A parameter (or its gradient) in the checkpoint's naming and layout.
public struct NamedTensor {
    public var name: String
    public var shape: [Int]
    public var values: [Float]
}

extension TrainableModel {
    /// The prefix this family's base model uses inside a `…For…` checkpoint (`model.`, `transformer.`, `bert.`).
    public static func defaultPrefix(_ family: ModelFamily) -> String {
        switch family {
        case .llama, .qwen2, .mistral: return "model."
        case .gpt2: return "transformer."
        case .bert: return "bert."
        }
    }

    /// Parameter values (or, with `gradients`, their gradients) named and laid out as transformers
    /// stores them: GPT-2 `Conv1D` weights transposed to `[in, out]` and q/k/v joined into `c_attn`;
    /// tied `lm_head` omitted. `prefix` is the base-model prefix found in the checkpoint.
    public func exportTensors(prefix: String? = nil, gradients: Bool = false) -> [NamedTensor] {
        let p = prefix ?? Self.defaultPrefix(config.family)
        func vals(_ v: Variable) -> [Float] { gradients ? (v.grad.isEmpty ? zeros(v.count) : v.grad) : v.value }
        var out: [NamedTensor] = []
        func add(_ name: String, _ v: Variable?) { if let v { out.append(NamedTensor(name: name, shape: v.shape, values: vals(v))) } }
        func lin(_ name: String, _ l: LinearParameters?) { add(name + ".weight", l?.weight); add(name + ".bias", l?.bias) }
        func nrm(_ name: String, _ n: NormParameters?) { add(name + ".weight", n?.weight); add(name + ".bias", n?.bias) }
        /// GPT-2 Conv1D: `[in, out]` = transpose of our `[out, in]`, several linears concatenated along out.
        func conv1D(_ name: String, _ parts: [LinearParameters]) {
            let inF = parts[0].weight.shape[1], outs = parts.map { $0.weight.shape[0] }, total = outs.reduce(0, +)
            var w = zeros(inF * total), b: [Float] = []
            var col = 0
            for (part, oc) in zip(parts, outs) {
                let src = vals(part.weight)
                for o in 0..<oc { for i in 0..<inF { w[i * total + col + o] = src[o * inF + i] } }
                col += oc
                if let bias = part.bias { b += vals(bias) }
            }
            out.append(NamedTensor(name: name + ".weight", shape: [inF, total], values: w))
            if !b.isEmpty { out.append(NamedTensor(name: name + ".bias", shape: [total], values: b)) }
        }
        switch config.family {
        case .llama, .qwen2, .mistral:
            add(p + "embed_tokens.weight", tokens)
            for (i, l) in layers.enumerated() {
                let q = p + "layers.\(i)."
                lin(q + "self_attn.q_proj", l.q); lin(q + "self_attn.k_proj", l.k); lin(q + "self_attn.v_proj", l.v)
                lin(q + "self_attn.o_proj", l.o)
                lin(q + "mlp.gate_proj", l.gate); lin(q + "mlp.up_proj", l.up); lin(q + "mlp.down_proj", l.down)
                nrm(q + "input_layernorm", l.norm1); nrm(q + "post_attention_layernorm", l.norm2)
            }
            nrm(p + "norm", finalNorm)
            if !config.tieWordEmbeddings { lin("lm_head", lmHead) }
        case .gpt2:
            add(p + "wte.weight", tokens); add(p + "wpe.weight", positions)
            for (i, l) in layers.enumerated() {
                let q = p + "h.\(i)."
                nrm(q + "ln_1", l.norm1)
                conv1D(q + "attn.c_attn", [l.q, l.k, l.v]); conv1D(q + "attn.c_proj", [l.o])
                nrm(q + "ln_2", l.norm2)
                conv1D(q + "mlp.c_fc", [l.up]); conv1D(q + "mlp.c_proj", [l.down])
            }
            nrm(p + "ln_f", finalNorm)
            if !config.tieWordEmbeddings { lin("lm_head", lmHead) }
        case .bert:
            let e = p + "embeddings."
            add(e + "word_embeddings.weight", tokens); add(e + "position_embeddings.weight", positions)
            add(e + "token_type_embeddings.weight", tokenTypes); nrm(e + "LayerNorm", embeddingNorm)
            for (i, l) in layers.enumerated() {
                let q = p + "encoder.layer.\(i)."
                lin(q + "attention.self.query", l.q); lin(q + "attention.self.key", l.k); lin(q + "attention.self.value", l.v)
                lin(q + "attention.output.dense", l.o); nrm(q + "attention.output.LayerNorm", l.norm1)
                lin(q + "intermediate.dense", l.up); lin(q + "output.dense", l.down); nrm(q + "output.LayerNorm", l.norm2)
            }
            lin(p + "pooler.dense", pooler)
            lin("classifier", classifier)
        }
        return out
    }
}
