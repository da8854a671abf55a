import Foundation
import Whittle

// Suite `decoding-batch` (issue 16): generation shaped like the distill pass's evaluation. The first
// 16 SVAMP test rows, prompted as distill_step_by_step prompts them ("explain: " + input + "\n"), are
// decoded with the KV cache at batch 1, 4 and 16 (greedyGenerate decodes up to `generationBatch` = 16
// sequences together), 128 new tokens each, no EOS stop, against the path evaluation took before the
// cache: each prompt alone, every step a full forward over its prefix. Statistic on every side: new
// tokens ÷ wall seconds of the whole call (prefill included), ranges over runs. The uncached side runs
// on the first `batchUncachedPrompts` prompts only (about half a minute each); its tokens must equal
// the batched cache's for the same prompts.

let batchPrompts = 16, batchUncachedPrompts = 3, batchRuns = 2

func runDecodingBatchBench() throws {
    guard let folder = smolLM2Folder() else {
        say("decoding-batch skipped: SmolLM2-135M not found (run `bash ../shared/tools/get-smollm2.sh`, or set WHITTLE_SMOLLM2)")
        return
    }
    let svamp = sharedPath("data/distill/svamp/svamp_test.json")
    guard let text = try? String(contentsOfFile: svamp, encoding: .utf8) else {
        say("decoding-batch skipped: \(svamp) not found (set WHITTLE_SHARED)")
        return
    }
    Threads.set(decodeThreads)
    let model = try TransformerModel.load(path: folder)
    let tokenizer = try Tokenizer.load(folder: folder)
    let prompts: [[Int32]] = try text.split(separator: "\n").prefix(batchPrompts).map { line in
        let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let input = row?["input"] as? String ?? ""
        return tokenizer.encode("explain: " + input + "\n", addSpecialTokens: false).map(Int32.init)
    }
    let lengths = prompts.map(\.count)
    say("SmolLM2-135M f32, \(prompts.count) SVAMP test prompts as distill_step_by_step prompts them (\(lengths.min()!)–\(lengths.max()!) tokens), "
        + "\(decodeNewTokens) new tokens each, greedy, no EOS stop, \(decodeThreads) threads")
    _ = try greedyGenerate(model: model, prompts: Array(prompts.prefix(2)), maxNewTokens: 8, eos: nil)

    var cachedTokens: [[Int32]] = []
    var cachedMedians: [Int: Double] = [:], cachedSeconds: [Int: [Double]] = [:]
    for _ in 0..<batchRuns {
        for batch in [1, 4, 16] {
            let (out, s, _) = try timed {
                try stride(from: 0, to: prompts.count, by: batch).flatMap { start in
                    try greedyGenerate(model: model, prompts: Array(prompts[start..<min(prompts.count, start + batch)]),
                                       maxNewTokens: decodeNewTokens, eos: nil)
                }
            }
            cachedSeconds[batch, default: []].append(s)
            if batch == 16 { cachedTokens = out } else if out != cachedTokens && !cachedTokens.isEmpty {
                say("batch \(batch): tokens differ from batch 16's")
            }
            say(String(format: "KV cache, batch %2d: %.2f s wall for %d × %d new tokens", batch, s, prompts.count, decodeNewTokens))
        }
    }
    for batch in [1, 4, 16] {
        let summary = rateSummary(cachedSeconds[batch]!, tokens: prompts.count * decodeNewTokens)
        cachedMedians[batch] = summary.median
        say("ours, KV cache, batch \(batch): \(summary.text) wall")
    }

    let vocab = model.config.vocabSize
    var uncachedSeconds: [Double] = []
    for run in 0..<batchRuns {
        let (out, s, _) = try timed {
            try prompts.prefix(batchUncachedPrompts).map { p in
                try greedyGenerate(prompt: p, maxNewTokens: decodeNewTokens, eos: nil) { Array(try model.sequenceLogits($0).suffix(vocab)) }
            }
        }
        uncachedSeconds.append(s)
        say(String(format: "uncached run %d: %.1f s wall for %d × %d new tokens; tokens equal the batched cache's: %@", run + 1, s,
                   batchUncachedPrompts, decodeNewTokens, out == Array(cachedTokens.prefix(batchUncachedPrompts)) ? "yes" : "NO"))
    }
    let uncached = rateSummary(uncachedSeconds, tokens: batchUncachedPrompts * decodeNewTokens)
    say("ours, no cache, one prompt at a time: \(uncached.text) wall")
    for batch in [1, 4, 16] {
        say(String(format: "KV cache at batch %2d ÷ no cache: %.1f× (median tokens/s)", batch, cachedMedians[batch]! / uncached.median))
    }
}
