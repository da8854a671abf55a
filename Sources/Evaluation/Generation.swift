/// Greedy decoding: appends the arg-max next token until `eos` or `maxNewTokens`.
/// `nextLogits(ids)` returns the logits of the last position. No KV cache yet: each step recomputes
/// the whole prefix (quadratic; fine for short answers, to replace with the models' cache).
public func greedyGenerate(prompt: [Int32], maxNewTokens: Int, eos: Int32?,
                           nextLogits: ([Int32]) throws -> [Float]) rethrows -> [Int32] {
    var ids = prompt
    var generated: [Int32] = []
    for _ in 0..<maxNewTokens {
        let logits = try nextLogits(ids)
        var best = 0
        for j in 1..<logits.count where logits[j] > logits[best] { best = j }
        let token = Int32(best)
        if token == eos { break }
        generated.append(token)
        ids.append(token)
    }
    return generated
}
