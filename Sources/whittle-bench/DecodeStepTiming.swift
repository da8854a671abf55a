import Foundation
import Whittle

// WHITTLE_DECODE_STEPS=N (suite `decoding`, issue 20, session 11): where a greedy generation's time goes.
// Runs greedy decoding of the fixed 16-token prompt + 128 new tokens N times as `greedyGenerate` does (one KV
// cache, prefill, then one `forward(appending:)` and one arg-max a step), timing each phase: the cache's
// creation (the weights' move to huge pages the first time), the prefill, every step's forward, the arg-max.
// The fastest steps of a generation are what a step costs when nothing else runs on the cores, so the minimum
// and median step beside the step's linears alone (`decodeLinearsSeconds`) and the read ceiling say how much
// of a step is outside the weight stream, with less noise than whole-generation wall times on a shared machine.
// The read ceiling is measured first, so `perf record` of this mode can start its window after `read512`
// (docs/results/decode-session11/perf_split.py).

func runDecodeStepTiming(model: TransformerModel, generations: Int) throws {
    let linears = decodeLinearsSeconds(model)
    let ceiling = decodeReadCeiling(model, threads: decodeThreads)
    let ceilingMs = Double(ceiling.bytes) / (ceiling.best * 1e9) * 1000
    say(String(format: "step timing: read ceiling %.1f GB/s best (%.2f ms for the %.3f GB a step reads); the step's linears alone %.2f ms (median of 7)",
               ceiling.best, ceilingMs, Double(ceiling.bytes) / 1e9, linears * 1000))
    let vocab = model.config.vocabSize
    func ms(_ t0: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 }
    for g in 0..<generations {
        let start = DispatchTime.now().uptimeNanoseconds
        var t0 = start
        let cache = KVCache(model: model, batch: 1, capacity: decodePrompt.count + decodeNewTokens)
        let cacheMs = ms(t0)
        t0 = DispatchTime.now().uptimeNanoseconds
        var logits = try model.forward(appending: [decodePrompt], to: cache)
        let prefillMs = ms(t0)
        var steps: [Double] = [], picks: [Double] = [], tokens: [Int32] = []
        while true {
            t0 = DispatchTime.now().uptimeNanoseconds
            let token = argmax(logits[0..<vocab])
            picks.append(ms(t0))
            tokens.append(token)
            if tokens.count == decodeNewTokens { break }
            t0 = DispatchTime.now().uptimeNanoseconds
            logits = try model.forward(appending: [[token]], to: cache)
            steps.append(ms(t0))
        }
        let total = ms(start)
        let s = steps.sorted(), p = picks.sorted()
        say(String(format: "generation %d: %.1f tokens/s (%.1f ms); cache %.2f ms, prefill %.2f ms, %d steps: min %.2f, median %.2f, p90 %.2f, max %.2f ms "
                   + "(sum %.1f ms); arg-max median %.3f ms; median step − linears alone %.2f ms, min step ÷ ceiling step %.2f",
                   g + 1, Double(decodeNewTokens) / total * 1000, total, cacheMs, prefillMs, s.count, s[0], s[s.count / 2], s[s.count * 9 / 10],
                   s.last!, s.reduce(0, +), p[p.count / 2], s[s.count / 2] - linears * 1000, ceilingMs / s[0]))
    }
}
