import Models

/// Greedy decoding of a batch of prompts with the model's KV cache: each prompt is run once
/// (prefill), then every step feeds only the newest token of each sequence still generating. A
/// sequence stops at `eos` (not included in its output) or after `maxNewTokens`; the finished ones
/// leave the batch. Prompts of different lengths batch without padding (each sequence has its own
/// cache rows and positions), so the result is the one-at-a-time result. Ties pick the lowest id
/// (`torch.argmax`). Models the cache cannot reproduce (`TransformerModel.kvCacheProblem`: a
/// per-sequence attention gate) fall back to recomputing the prefix each step.
/// Returns the generated ids per prompt.
public func greedyGenerate(model: TransformerModel, prompts: [[Int32]], maxNewTokens: Int, eos: Int32?) throws -> [[Int32]] {
    guard model.config.isCausalLM else {
        throw EvaluationError.invalidArgument(message: "greedy generation needs a causal language model (this is a \(model.config.architecture))")
    }
    if let b = prompts.firstIndex(where: \.isEmpty) { throw EvaluationError.invalidArgument(message: "prompt \(b) is empty (generation needs at least one token)") }
    guard maxNewTokens > 0 else { return prompts.map { _ in [] } }
    let vocab = model.config.vocabSize
    if model.kvCacheProblem != nil {
        return try prompts.map { p in
            try greedyGenerate(prompt: p, maxNewTokens: maxNewTokens, eos: eos) { Array(try model.sequenceLogits($0).suffix(vocab)) }
        }
    }
    var out: [[Int32]] = []
    for start in stride(from: 0, to: prompts.count, by: generationBatch) {
        let chunk = Array(prompts[start..<min(prompts.count, start + generationBatch)])
        out += try greedyGenerateCached(model: model, prompts: chunk, maxNewTokens: maxNewTokens, eos: eos)
    }
    return out
}

/// Sequences decoded together (bounds the cache: 2·layers·kv width·(prompt + new) floats each).
let generationBatch = 16

func greedyGenerateCached(model: TransformerModel, prompts: [[Int32]], maxNewTokens: Int, eos: Int32?) throws -> [[Int32]] {
    let vocab = model.config.vocabSize
    let cache = KVCache(model: model, batch: prompts.count, capacity: prompts.map(\.count).max()! + maxNewTokens)
    var generated = [[Int32]](repeating: [], count: prompts.count)
    var active = Array(prompts.indices)          // prompt index of each cache row
    var logits = try model.forward(appending: prompts, to: cache)
    while !active.isEmpty {
        var keep: [Int] = [], next: [[Int32]] = []
        for (row, p) in active.enumerated() {
            let token = argmax(logits[(row * vocab)..<((row + 1) * vocab)])
            if token == eos { continue }
            generated[p].append(token)
            if generated[p].count < maxNewTokens { keep.append(row); next.append([token]) }
        }
        if keep.isEmpty { break }
        if keep.count < active.count { cache.retain(keep) }
        active = keep.map { active[$0] }
        logits = try model.forward(appending: next, to: cache)
    }
    return generated
}

/// The first index of the largest value (the greedy pick; also the decoding bench's).
public func argmax(_ x: ArraySlice<Float>) -> Int32 {
    var best = x.startIndex
    for j in x.indices where x[j] > x[best] { best = j }
    return Int32(best - x.startIndex)
}

/// Greedy decoding without a cache: appends the arg-max next token until `eos` or `maxNewTokens`.
/// `nextLogits(ids)` returns the logits of the last position (each step recomputes the whole
/// prefix, so the cost is quadratic: the reference the cached path is tested against).
public func greedyGenerate(prompt: [Int32], maxNewTokens: Int, eos: Int32?,
                           nextLogits: ([Int32]) throws -> [Float]) rethrows -> [Int32] {
    var ids = prompt
    var generated: [Int32] = []
    for _ in 0..<maxNewTokens {
        let logits = try nextLogits(ids)
        let token = argmax(logits[...])
        if token == eos { break }
        generated.append(token)
        ids.append(token)
    }
    return generated
}
