import Checkpoints

/// Tensor naming per family: builds embeddings, layers and heads from a store.
/// Prefixes (`model.`, `transformer.`, `bert.`) are detected, so base-model files load too.
struct FamilyWeights {
    let config: ModelConfig
    let reader: WeightReader
    let prefix: String

    init(config: ModelConfig, store: TensorStore) throws {
        self.config = config
        reader = WeightReader(store: store)
        let candidates: [String]
        let probe: String
        switch config.family {
        case .llama, .qwen2, .mistral: candidates = ["model.", ""]; probe = "embed_tokens.weight"
        case .gpt2: candidates = ["transformer.", ""]; probe = "wte.weight"
        case .bert: candidates = ["bert.", ""]; probe = "embeddings.word_embeddings.weight"
        }
        guard let p = candidates.first(where: { store.contains($0 + probe) }) else {
            throw ModelError.missingTensor(name: candidates[0] + probe, hint: "no token embedding for a \(config.family.rawValue) model (also tried without the prefix)")
        }
        prefix = p
    }

    /// With `gatherFromStore`, the token table stays in the store and rows are converted on use.
    func embeddings(gatherFromStore: Bool = false) throws -> Embeddings {
        var e = try loadEmbeddings(gatherFromStore: gatherFromStore)
        if gatherFromStore {
            let name = prefix + (config.family == .gpt2 ? "wte.weight" : config.family == .bert ? "embeddings.word_embeddings.weight" : "embed_tokens.weight")
            e.storedTokens = try reader.store.tensor(name)
        }
        return e
    }

    private func loadEmbeddings(gatherFromStore lazy: Bool) throws -> Embeddings {
        let c = config.hidden, v = config.vocabSize
        func table(_ name: String) throws -> [Float] {
            if lazy { _ = try reader.floatsShapeOnly(name, [v, c]); return [] }
            return try reader.floats(name, [v, c])
        }
        switch config.family {
        case .llama, .qwen2, .mistral:
            return Embeddings(tokens: try table(prefix + "embed_tokens.weight"), positions: nil, tokenTypes: nil,
                              norm: nil, vocabSize: v, hidden: c)
        case .gpt2:
            return Embeddings(tokens: try table(prefix + "wte.weight"),
                              positions: try reader.floats(prefix + "wpe.weight", [config.maxPositions, c]),
                              tokenTypes: nil, norm: nil, vocabSize: v, hidden: c)
        case .bert:
            let e = prefix + "embeddings."
            return Embeddings(tokens: try table(e + "word_embeddings.weight"),
                              positions: try reader.floats(e + "position_embeddings.weight", [config.maxPositions, c]),
                              tokenTypes: try reader.optional(e + "token_type_embeddings.weight", [config.typeVocabSize, c]),
                              norm: try reader.norm(e + "LayerNorm", kind: .layer, channels: c, eps: config.normEps),
                              vocabSize: v, hidden: c)
        }
    }

    func layer(_ i: Int) throws -> TransformerLayer {
        let c = config.hidden, hd = config.headDim, eps = config.normEps
        func heads(_ l: any LinearLayer, _ name: String) throws -> Int {
            guard l.outFeatures % hd == 0 else {
                throw ModelError.tensorShape(name: name, expected: [-1, c], found: [l.outFeatures, l.inFeatures])
            }
            return l.outFeatures / hd
        }
        switch config.family {
        case .llama, .qwen2, .mistral:
            let p = prefix + "layers.\(i)."
            let q = try reader.linear(p + "self_attn.q_proj", inFeatures: c)
            let k = try reader.linear(p + "self_attn.k_proj", inFeatures: c)
            let v = try reader.linear(p + "self_attn.v_proj", inFeatures: c, outFeatures: k.outFeatures)
            let o = try reader.linear(p + "self_attn.o_proj", inFeatures: q.outFeatures, outFeatures: c)
            let gate = try reader.linear(p + "mlp.gate_proj", inFeatures: c)
            let up = try reader.linear(p + "mlp.up_proj", inFeatures: c, outFeatures: gate.outFeatures)
            let down = try reader.linear(p + "mlp.down_proj", inFeatures: gate.outFeatures, outFeatures: c)
            return TransformerLayer(index: i, heads: try heads(q, p + "self_attn.q_proj.weight"), kvHeads: try heads(k, p + "self_attn.k_proj.weight"),
                                    headDim: hd, q: q, k: k, v: v, o: o, gate: gate, up: up, down: down,
                                    norm1: try reader.norm(p + "input_layernorm", kind: .rms, channels: c, eps: eps),
                                    norm2: try reader.norm(p + "post_attention_layernorm", kind: .rms, channels: c, eps: eps),
                                    placement: .pre)
        case .gpt2:
            let p = prefix + "h.\(i)."
            let qkv = try reader.conv1D(p + "attn.c_attn", inFeatures: c)
            guard qkv.outFeatures % (3 * hd) == 0 else {
                throw ModelError.tensorShape(name: p + "attn.c_attn.weight", expected: [c, 3 * c], found: [c, qkv.outFeatures])
            }
            let w = qkv.outFeatures / 3
            func slice(_ part: Int) -> Linear {
                Linear(weight: Array(qkv.weight[(part * w * c)..<((part + 1) * w * c)]),
                       bias: qkv.bias.map { Array($0[(part * w)..<((part + 1) * w)]) }, inFeatures: c, outFeatures: w)
            }
            let up = try reader.conv1D(p + "mlp.c_fc", inFeatures: c)
            return TransformerLayer(index: i, heads: w / hd, kvHeads: w / hd, headDim: hd,
                                    q: slice(0), k: slice(1), v: slice(2),
                                    o: try reader.conv1D(p + "attn.c_proj", inFeatures: w), gate: nil, up: up,
                                    down: try reader.conv1D(p + "mlp.c_proj", inFeatures: up.outFeatures),
                                    norm1: try reader.norm(p + "ln_1", kind: .layer, channels: c, eps: eps),
                                    norm2: try reader.norm(p + "ln_2", kind: .layer, channels: c, eps: eps),
                                    placement: .pre)
        case .bert:
            let p = prefix + "encoder.layer.\(i)."
            let q = try reader.linear(p + "attention.self.query", inFeatures: c)
            let k = try reader.linear(p + "attention.self.key", inFeatures: c, outFeatures: q.outFeatures)
            let v = try reader.linear(p + "attention.self.value", inFeatures: c, outFeatures: q.outFeatures)
            let up = try reader.linear(p + "intermediate.dense", inFeatures: c)
            let nh = try heads(q, p + "attention.self.query.weight")
            return TransformerLayer(index: i, heads: nh, kvHeads: nh, headDim: hd, q: q, k: k, v: v,
                                    o: try reader.linear(p + "attention.output.dense", inFeatures: q.outFeatures, outFeatures: c),
                                    gate: nil, up: up,
                                    down: try reader.linear(p + "output.dense", inFeatures: up.outFeatures, outFeatures: c),
                                    norm1: try reader.norm(p + "attention.output.LayerNorm", kind: .layer, channels: c, eps: eps),
                                    norm2: try reader.norm(p + "output.LayerNorm", kind: .layer, channels: c, eps: eps),
                                    placement: .post)
        }
    }

    func head(embeddings: Embeddings) throws -> ModelHead {
        let c = config.hidden, v = config.vocabSize
        switch config.family {
        case .llama, .qwen2, .mistral, .gpt2:
            let normName = config.family == .gpt2 ? prefix + "ln_f" : prefix + "norm"
            let finalNorm = try reader.norm(normName, kind: config.family == .gpt2 ? .layer : .rms, channels: c, eps: config.normEps)
            let lmHead: Linear
            if config.tieWordEmbeddings {
                lmHead = Linear(weight: embeddings.tokens, bias: nil, inFeatures: c, outFeatures: v)   // tied (shared storage)
            } else if reader.has("lm_head.weight") {
                lmHead = try reader.linear("lm_head", inFeatures: c, outFeatures: v)
            } else {
                throw ModelError.missingTensor(name: "lm_head.weight", hint: "config.json says tie_word_embeddings is false")
            }
            return ModelHead(finalNorm: finalNorm, lmHead: lmHead, pooler: nil, classifier: nil)
        case .bert:
            guard config.task == .sequenceClassification else { return ModelHead() }
            return ModelHead(finalNorm: nil, lmHead: nil,
                             pooler: try reader.linear(prefix + "pooler.dense", inFeatures: c, outFeatures: c),
                             classifier: try reader.linear("classifier", inFeatures: c, outFeatures: config.numLabels))
        }
    }
}
