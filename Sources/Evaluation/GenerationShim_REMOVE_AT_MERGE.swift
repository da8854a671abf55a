import Models

// TEMPORARY (issue 16 ↔ the KV-cache branch): the batched greedy generation that branch provides in
// Generation.swift, with the same signature, implemented on the uncached closure form. Delete at merge.

/// Greedy continuation of each prompt until `eos` or `maxNewTokens` (the generated ids, without `eos`).
public func greedyGenerate(model: TransformerModel, prompts: [[Int32]], maxNewTokens: Int, eos: Int32?) throws -> [[Int32]] {
    let vocab = model.config.vocabSize
    return try prompts.map { prompt in
        try greedyGenerate(prompt: prompt, maxNewTokens: maxNewTokens, eos: eos) { ids in
            Array(try model.sequenceLogits(ids).suffix(vocab))
        }
    }
}
