/// A weight (or its gradient) in the checkpoint's naming and layout.
public struct NamedTensor {
    public var name: String
    public var shape: [Int]
    public var values: [Float]
}

extension TransformerModel {
    /// Every distinct weight variable (a tied `lm_head` once), in a stable order. With `trainable`,
    /// the projections and norms of sublayers the model removed are left out.
    public func parameters(trainable: Bool = false) -> [Variable] {
        var all: [Variable?] = [embeddings.tokenParameter, embeddings.positionParameter, embeddings.tokenTypeParameter]
        func add(_ l: (any LinearLayer)?) { if let l = l as? Linear { all += [l.weightParameter, l.biasParameter] } }
        func add(_ n: Norm?) { if let n { all += [n.weightParameter, n.biasParameter] } }
        add(embeddings.norm)
        for layer in layers {
            let attention = !(trainable && (layer.structure.skipAttention || layer.heads == 0))
            let mlp = !(trainable && (layer.structure.skipMLP || layer.ffnWidth == 0))
            for (role, l) in layer.linears where [.q, .k, .v, .o].contains(role) ? attention : mlp { add(l) }
            if attention, let gate = layer.attentionGate { all += gate.parameters }
            // Pre-norm: a norm belongs to its sublayer. Post-norm (BERT) norms run even when it is removed.
            if attention || layer.placement == .post { add(layer.norm1) }
            if mlp || layer.placement == .post { add(layer.norm2) }
        }
        add(head.finalNorm); add(head.lmHead); add(head.pooler); add(head.classifier)
        var seen = Set<ObjectIdentifier>()
        return all.compactMap { $0 }.filter { seen.insert(ObjectIdentifier($0)).inserted }
    }

    /// Weights (or, with `gradients`, their gradients; zeros where none flowed) named and laid out
    /// as the checkpoint stores them, by the family name table: GPT-2 `Conv1D` weights transposed to
    /// `[in, out]` and q/k/v joined into `c_attn`; a tied `lm_head` omitted. Quantized layers are skipped.
    public func namedTensors(gradients: Bool = false) -> [NamedTensor] {
        func values(_ v: Variable) -> [Float] {
            gradients ? (v.grad.isEmpty ? [Float](repeating: 0, count: v.count) : v.grad) : v.value
        }
        var out: [NamedTensor] = []
        func add(_ name: String?, _ v: Variable?) {
            if let name, let v, v.count > 0 { out.append(NamedTensor(name: name, shape: v.shape, values: values(v))) }
        }
        func add(_ name: String?, _ n: Norm?) { if let name, let n { add(name + ".weight", n.weightParameter); add(name + ".bias", n.biasParameter) } }
        add(layout.tokenEmbedding, embeddings.tokenParameter)
        add(layout.positionEmbedding, embeddings.positionParameter)
        add(layout.tokenTypeEmbedding, embeddings.tokenTypeParameter)
        add(layout.embeddingNorm, embeddings.norm)
        for layer in layers {
            // Projections sharing a tensor (fused parts) are joined along their outputs.
            var groups: [(location: TensorLocation, parts: [Linear])] = []
            for (role, l) in layer.linears {
                guard let l = l as? Linear, let location = layout.linear(role, layer: layer.index) else { continue }
                if let i = groups.firstIndex(where: { $0.location.name == location.name }) { groups[i].parts.append(l) }
                else { groups.append((location, [l])) }
            }
            for (location, parts) in groups { out += joined(location, parts, values) }
            for p in layer.attentionGate?.parameters ?? [] { add(p.name, p) }
            add(layout.norm(1, layer: layer.index), layer.norm1)
            add(layout.norm(2, layer: layer.index), layer.norm2)
        }
        add(layout.finalNorm, head.finalNorm)
        if !config.tieWordEmbeddings, let l = head.lmHead as? Linear { add(layout.lmHead + ".weight", l.weightParameter); add(layout.lmHead + ".bias", l.biasParameter) }
        for (name, l) in [(layout.pooler, head.pooler), (layout.classifier, head.classifier)] {
            if let l = l as? Linear { add(name + ".weight", l.weightParameter); add(name + ".bias", l.biasParameter) }
        }
        return out
    }

    /// One stored tensor from its parts (`[out, in]` each): concatenated along outputs, transposed for Conv1D.
    private func joined(_ location: TensorLocation, _ parts: [Linear], _ values: (Variable) -> [Float]) -> [NamedTensor] {
        let inF = parts[0].inFeatures, total = parts.reduce(0) { $0 + $1.outFeatures }
        var w = [Float](), b = [Float]()
        w.reserveCapacity(inF * total)
        for p in parts { w += values(p.weightParameter); if let bias = p.biasParameter { b += values(bias) } }
        if location.transposed {
            var t = [Float](repeating: 0, count: w.count)
            for o in 0..<total { for i in 0..<inF { t[i * total + o] = w[o * inF + i] } }
            w = t
        }
        var out = [NamedTensor(name: location.name + ".weight", shape: location.transposed ? [inF, total] : [total, inF], values: w)]
        if !b.isEmpty { out.append(NamedTensor(name: location.name + ".bias", shape: [total], values: b)) }
        return out
    }
}
