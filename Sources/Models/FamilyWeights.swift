import Checkpoints

/// Builds embeddings, layers and heads from a store, by the family name table (`FamilyLayout`).
/// Every weight becomes a `Variable` named after its checkpoint tensor.
struct FamilyWeights {
    let config: ModelConfig
    let reader: WeightReader
    let layout: FamilyLayout
    /// `whittle.attention_gate`: every layer loads its gate tensors.
    let gate: AttentionGateSettings?

    /// `halfWeights`: BF16 / F16 linears (and a 16-bit token table with its tied head) stay in 16 bits
    /// (`HalfLinear`, rows of the table converted on use): inference only.
    init(config: ModelConfig, store: TensorStore, halfWeights: Bool = false) throws {
        self.config = config
        reader = WeightReader(store: store, halfWeights: halfWeights)
        layout = try FamilyLayout(family: config.family, store: store)
        gate = try WhittleConfig.read(from: store.config).attentionGate
        if let problem = gate?.problem { throw ModelError.invalidConfig(key: "whittle.attention_gate", reason: problem) }
    }

    /// With `gatherFromStore`, the token table stays in the store and rows are converted on use.
    func embeddings(gatherFromStore lazy: Bool = false) throws -> Embeddings {
        let c = config.hidden, v = config.vocabSize
        let tokens: [Float]
        if lazy { _ = try reader.floatsShapeOnly(layout.tokenEmbedding, [v, c]); tokens = [] }
        else { tokens = try reader.floats(layout.tokenEmbedding, [v, c]) }
        var e = Embeddings(
            tokens: tokens,
            positions: try layout.positionEmbedding.map { try reader.floats($0, [config.maxPositions, c]) },
            tokenTypes: try layout.tokenTypeEmbedding.flatMap { try reader.optional($0, [config.typeVocabSize, c]) },
            norm: try layout.embeddingNorm.map { try reader.norm($0, kind: .layer, channels: c, eps: config.normEps) },
            vocabSize: v, hidden: c,
            names: (layout.tokenEmbedding, layout.positionEmbedding ?? "", layout.tokenTypeEmbedding ?? ""))
        if lazy { e.storedTokens = try reader.store.tensor(layout.tokenEmbedding) }
        return e
    }

    func layer(_ i: Int) throws -> TransformerLayer {
        let c = config.hidden, hd = config.headDim, eps = config.normEps
        let kind: Norm.Kind = layout.llama ? .rms : .layer
        func heads(_ l: any LinearLayer, _ role: LinearRole) throws -> Int {
            guard l.outFeatures % hd == 0 else {
                throw ModelError.tensorShape(name: layout.linear(role, layer: i)!.name + ".weight", expected: [-1, c], found: [l.outFeatures, l.inFeatures])
            }
            return l.outFeatures / hd
        }
        func linear(_ role: LinearRole, inFeatures: Int, outFeatures: Int? = nil) throws -> any LinearLayer {
            try reader.linear(layout.linear(role, layer: i)!, inFeatures: inFeatures, outFeatures: outFeatures)
        }
        if layout.family == .gpt2 {
            // c_attn holds q | k | v along its outputs; check the whole before slicing.
            let fused = try reader.shape(layout.linear(.q, layer: i)!.name + ".weight")
            guard fused.count == 2, fused[0] == c, fused[1] % (3 * hd) == 0 else {
                throw ModelError.tensorShape(name: layout.linear(.q, layer: i)!.name + ".weight", expected: [c, 3 * c], found: fused)
            }
        }
        let q = try linear(.q, inFeatures: c)
        let k = try linear(.k, inFeatures: c, outFeatures: layout.family == .bert ? q.outFeatures : nil)
        let v = try linear(.v, inFeatures: c, outFeatures: k.outFeatures)
        let o = try linear(.o, inFeatures: q.outFeatures, outFeatures: c)
        let gate = try layout.linear(.gate, layer: i).map { _ in try linear(.gate, inFeatures: c) }
        let up = try linear(.up, inFeatures: c, outFeatures: gate?.outFeatures)
        let down = try linear(.down, inFeatures: up.outFeatures, outFeatures: c)
        let layer = TransformerLayer(index: i, heads: try heads(q, .q), kvHeads: try heads(k, .k), headDim: hd,
                                     q: q, k: k, v: v, o: o, gate: gate, up: up, down: down,
                                     norm1: try reader.norm(layout.norm(1, layer: i), kind: kind, channels: c, eps: eps),
                                     norm2: try reader.norm(layout.norm(2, layer: i), kind: kind, channels: c, eps: eps),
                                     placement: config.normPlacement)
        layer.attentionGate = try attentionGate(layer: i, heads: layer.heads)
        return layer
    }

    /// The gate of layer `i` when the `whittle` section declares gated attention.
    func attentionGate(layer i: Int, heads: Int) throws -> AttentionGate? {
        guard let settings = self.gate, heads > 0 else { return nil }
        let prefix = layout.attentionGate(layer: i)
        let parameters = try settings.tensorShapes(heads: heads, headDim: config.headDim, hidden: config.hidden).map { name, shape in
            guard reader.has(prefix + "." + name) else {
                throw ModelError.missingTensor(name: prefix + "." + name, hint: "config.json whittle.attention_gate declares gated attention (\(settings.network.rawValue))")
            }
            return Variable.parameter(try reader.floats(prefix + "." + name, shape), shape: shape, name: prefix + "." + name, decay: name.hasSuffix("weight"))
        }
        return AttentionGate(settings: settings, heads: heads, headDim: config.headDim, parameters: parameters)
    }

    func head(embeddings: Embeddings) throws -> ModelHead {
        let c = config.hidden, v = config.vocabSize
        switch config.task {
        case .causalLM:
            let finalNorm = try reader.norm(layout.finalNorm!, kind: layout.llama ? .rms : .layer, channels: c, eps: config.normEps)
            let lmHead: any LinearLayer
            if config.tieWordEmbeddings, let stored = embeddings.storedTokens, reader.halfWeights, HalfLinear.holds(stored) {
                lmHead = HalfLinear(stored, bias: nil)   // tied: the same 16-bit table
            } else if config.tieWordEmbeddings {
                lmHead = Linear(weight: embeddings.tokenParameter, bias: nil)   // tied: the same variable
            } else if reader.has(layout.lmHead + ".weight") {
                lmHead = try reader.linear(TensorLocation(name: layout.lmHead, transposed: false), inFeatures: c, outFeatures: v)
            } else {
                throw ModelError.missingTensor(name: layout.lmHead + ".weight", hint: "config.json says tie_word_embeddings is false")
            }
            return ModelHead(finalNorm: finalNorm, lmHead: lmHead, pooler: nil, classifier: nil)
        case .sequenceClassification:
            return ModelHead(finalNorm: nil, lmHead: nil,
                             pooler: try reader.linear(TensorLocation(name: layout.pooler, transposed: false), inFeatures: c, outFeatures: c),
                             classifier: try reader.linear(TensorLocation(name: layout.classifier, transposed: false), inFeatures: c, outFeatures: config.numLabels))
        case .encoder:
            return ModelHead()
        }
    }
}
