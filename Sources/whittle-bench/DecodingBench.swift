import Foundation
import Whittle

// Suite `decoding` (issues 16, 20): greedy decoding of 128 new tokens on SmolLM2-135M (f32) with the
// KV cache, against the uncached path (each step recomputes the prefix, as before the cache) and
// against transformers `generate` (tools/bench_decode_torch.py, same prompt, same 2 threads, its own
// KV cache). tokens/s = new tokens / wall time of the whole call (prefill included) on both sides;
// every figure is a range (min–max) and median over the same number of runs; ours and transformers
// alternate run by run. Then our W8A8 and NF4 models of SmolLM2 (made by the `int8` / `nf4` passes with
// recipes/int8.json's and recipes/nf4.json's settings) beside f32, alternating, and llama.cpp's
// `llama-bench` on F16 / Q8_0 / Q4_0 files of the same weights (`runQuantizedDecoding`); "+head" variants
// also quantize the tied output head (`"lm_head"` in the pass's targets).
// WHITTLE_DECODE_QUANTIZED_ONLY=1 runs only that part (no transformers, no uncached runs).
// First a read ceiling (`DecodeCeiling.swift`: one 2-thread pass summing the f32 weights a step reads), so every
// tokens/s is also given as a fraction of "weight bytes / read bandwidth"; the same comparison then runs on a
// real SVAMP prompt as distill_step_by_step formats it. WHITTLE_DECODE_PROFILE=N runs only N cached decodes (f32, or
// the compressed folder WHITTLE_DECODE_PROFILE_FOLDER)
// (for `perf record -e cpu-clock -g`); WHITTLE_DECODE_SVAMP_ONLY=1 runs the ceiling and the SVAMP row only;
// WHITTLE_DECODE_STEPS=N times the phases of N generations step by step (DecodeStepTiming.swift; f32, or the folder above).

let decodeNewTokens = 128, decodeRuns = 3
/// Threads on every side (WHITTLE_DECODE_THREADS overrides the 2, e.g. to see what the split over the cores buys).
let decodeThreads = Int(ProcessInfo.processInfo.environment["WHITTLE_DECODE_THREADS"] ?? "") ?? 2
/// The read bandwidth measured at the start of the suite (GB/s, `decodeReadCeiling`).
var decodeBandwidth: Double?
/// The read ceiling in f32 tokens per CPU-second (1 / CPU seconds of one read pass).
var decodeCeilingCPURate = Double.nan

/// The prompt: 16 fixed ids of SmolLM2's vocabulary ("The history of the printing press begins in"
/// and so on would need the tokenizer; fixed ids keep both sides on identical input).
let decodePrompt: [Int32] = [504, 2270, 282, 260, 5616, 3184, 3664, 281, 13862, 30, 2738, 314, 260, 1345, 282, 4158]

func smolLM2Folder() -> String? {
    if let p = ProcessInfo.processInfo.environment["WHITTLE_SMOLLM2"] { return p }
    let p = NSHomeDirectory() + "/.cache/whittle/models/smollm2-135m-instruct"
    return FileManager.default.fileExists(atPath: p + "/config.json") ? p : nil
}

/// "min–max (median m)" of tokens/s over runs of `seconds`.
func rateSummary(_ seconds: [Double], tokens: Int) -> (median: Double, text: String) {
    let rates = seconds.map { Double(tokens) / $0 }.sorted()
    let median = rates[rates.count / 2]
    return (median, String(format: "%.1f–%.1f tokens/s (median %.1f, %d runs)", rates.first!, rates.last!, median, rates.count))
}

/// Wall seconds and process CPU seconds (all threads) of `body`.
func timed<T>(_ body: () throws -> T) rethrows -> (T, Double, Double) {
    func cpu() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
    let t0 = DispatchTime.now().uptimeNanoseconds, c0 = cpu()
    let r = try body()
    return (r, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, cpu() - c0)
}

func runDecodingBench() throws {
    guard let folder = smolLM2Folder() else {
        say("decoding skipped: SmolLM2-135M not found (run `bash ../shared/tools/get-smollm2.sh`, or set WHITTLE_SMOLLM2)")
        return
    }
    Threads.set(decodeThreads)
    let model = try TransformerModel.load(path: folder)
    if ProcessInfo.processInfo.environment["WHITTLE_DECODE_HALF_ONLY"] != nil {
        try runHalfDecoding(f32Folder: folder, f32: model)   // HalfDecodingBench.swift
        return
    }
    if ProcessInfo.processInfo.environment["WHITTLE_DECODE_QUANTIZED_ONLY"] != nil {
        try runQuantizedDecoding(folder: folder, f32: model)
        return
    }
    if let generations = ProcessInfo.processInfo.environment["WHITTLE_DECODE_STEPS"].flatMap(Int.init) {
        // The f32 model, or the compressed folder WHITTLE_DECODE_PROFILE_FOLDER (as the profile mode below).
        let timed = try ProcessInfo.processInfo.environment["WHITTLE_DECODE_PROFILE_FOLDER"]
            .map { try TransformerModel.loadCompressed(from: try openTensorStore(path: $0)) } ?? model
        try runDecodeStepTiming(model: timed, generations: generations)   // DecodeStepTiming.swift
        return
    }
    if let runs = ProcessInfo.processInfo.environment["WHITTLE_DECODE_PROFILE"].flatMap(Int.init) {
        // For `perf record`: only the cached decode, `runs` times, of the f32 model or of the compressed
        // folder WHITTLE_DECODE_PROFILE_FOLDER (e.g. one the quantized part wrote to /tmp).
        let profiled = try ProcessInfo.processInfo.environment["WHITTLE_DECODE_PROFILE_FOLDER"]
            .map { try TransformerModel.loadCompressed(from: try openTensorStore(path: $0)) } ?? model
        let ceiling = decodeReadCeiling(model, threads: decodeThreads)
        profiled.backWeightsWithHugePages()
        say(String(format: "read ceiling %.1f GB/s (best; median %.1f) over %.3f GB, %.1f ms CPU a pass; the step's linears alone %.2f ms; %d MB in huge pages", ceiling.best,
                   ceiling.median, Double(ceiling.bytes) / 1e9, ceiling.cpu * 1000, decodeLinearsSeconds(profiled) * 1000, anonHugePagesMB() ?? 0))
        for _ in 0..<runs {
            let (_, s, c) = try timed { try greedyGenerate(model: profiled, prompts: [decodePrompt], maxNewTokens: decodeNewTokens, eos: nil) }
            say(String(format: "cached decode: %.1f tokens/s wall, %.1f per CPU-second", Double(decodeNewTokens) / s, Double(decodeNewTokens) / c))
        }
        return
    }
    say("SmolLM2-135M f32 (\(folder)), \(decodeNewTokens) new tokens, greedy, no EOS stop, \(decodeThreads) threads")
    let ceiling = decodeReadCeiling(model, threads: decodeThreads)
    decodeBandwidth = ceiling.best
    let ceilingRate = ceiling.best * 1e9 / Double(ceiling.bytes)
    say(String(format: "read ceiling: %.1f GB/s best of 7, %.1f median (one pass summing the %.3f GB of f32 weights a step reads, %d threads) "
               + "→ at most %.1f tokens/s for f32; the step's linears alone take %.2f ms (median); %d MB of memory in huge pages", ceiling.best, ceiling.median,
               Double(ceiling.bytes) / 1e9, decodeThreads, ceilingRate, decodeLinearsSeconds(model) * 1000, anonHugePagesMB() ?? 0))
    decodeCeilingCPURate = 1 / ceiling.cpu
    say(String(format: "read ceiling by CPU time: a pass costs %.1f ms of process CPU → at most %.1f tokens per CPU-second for f32", ceiling.cpu * 1000, 1 / ceiling.cpu))
    let svampOnly = ProcessInfo.processInfo.environment["WHITTLE_DECODE_SVAMP_ONLY"] != nil
    if !svampOnly {
        try compareDecoding(model: model, folder: folder, prompt: decodePrompt, name: "fixed 16-token prompt", ceilingRate: ceilingRate)
        try runQuantizedDecoding(folder: folder, f32: model)
    }
    // A prompt as the distill pass's evaluation builds it (rationale generation: "explain: " + the
    // SVAMP question + "\n", DistillStepByStep's defaults), the first row of the SVAMP test file.
    let svamp = sharedPath("data/distill/svamp/svamp_test.json")
    if let line = try? String(contentsOfFile: svamp, encoding: .utf8).split(separator: "\n").first,
       let row = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let input = row["input"] as? String {
        let tokenizer = try Tokenizer.load(folder: folder)
        let prompt = tokenizer.encode("explain: " + input + "\n", addSpecialTokens: false).map(Int32.init)
        try compareDecoding(model: model, folder: folder, prompt: prompt, name: "SVAMP test row 1 as distill_step_by_step prompts it", ceilingRate: ceilingRate)
    } else {
        say("SVAMP prompt row skipped: \(svamp) not found (set WHITTLE_SHARED)")
    }
    if !svampOnly { try runHalfDecoding(f32Folder: folder, f32: model) }
}

/// Ours with the KV cache against transformers `generate` (alternating, one run each per round, after a
/// warm-up on each side), then the uncached path (each step a full forward over prompt + generated, all
/// positions' logits — what exact-match evaluation did before the cache), on one prompt.
func compareDecoding(model: TransformerModel, folder: String, prompt: [Int32], name: String, ceilingRate: Double) throws {
    let vocab = model.config.vocabSize
    say("-- \(name): \(prompt.count) prompt tokens, \(decodeNewTokens) new tokens")
    _ = try greedyGenerate(model: model, prompts: [prompt], maxNewTokens: 8, eos: nil)
    var cachedSeconds: [Double] = [], cachedCPU: [Double] = [], cachedTokens: [Int32] = []
    var peerSeconds: [Double] = [], peerCPU: [Double] = [], peerTokens: [Int] = [], peerInfo = ""
    for round in 0..<decodeRuns {
        let (out, s, c) = try timed { try greedyGenerate(model: model, prompts: [prompt], maxNewTokens: decodeNewTokens, eos: nil) }
        cachedSeconds.append(s); cachedCPU.append(c); cachedTokens = out[0]
        var line = String(format: "round %d: ours %.2f s wall, %.2f s CPU", round + 1, s, c)
        if let peer = runDecodePeer(folder: folder, prompt: prompt), let t = peer["seconds"] as? [Double], let pc = peer["cpu_seconds"] as? [Double],
           let tokens = peer["tokens"] as? [Int] {
            peerSeconds += t; peerCPU += pc; peerTokens = tokens
            peerInfo = "transformers \(peer["transformers"] ?? "?"), torch \(peer["torch"] ?? "?"), attention \(peer["attn"] ?? "?")"
            line += String(format: "; transformers %.2f s wall, %.2f s CPU", t[0], pc[0])
        }
        say(line)
    }
    let cached = rateSummary(cachedSeconds, tokens: decodeNewTokens)
    say("ours, KV cache:    \(cached.text) wall; \(rateSummary(cachedCPU, tokens: decodeNewTokens).text) of process CPU time")
    say(String(format: "ours, KV cache ÷ read ceiling: %.2f (median wall tokens/s ÷ %.1f); by CPU time %.2f (median tokens per CPU-second ÷ %.1f)",
               cached.median / ceilingRate, ceilingRate, rateSummary(cachedCPU, tokens: decodeNewTokens).median / decodeCeilingCPURate, decodeCeilingCPURate))
    if peerSeconds.isEmpty {
        say("transformers peer skipped: python, transformers or tools/bench_decode_torch.py unavailable")
    } else {
        let theirs = rateSummary(peerSeconds, tokens: decodeNewTokens)
        say("\(peerInfo) generate (its KV cache): \(theirs.text) wall; \(rateSummary(peerCPU, tokens: decodeNewTokens).text) of process CPU time")
        let firstDiff = zip(peerTokens, cachedTokens).enumerated().first { $0.element.0 != Int($0.element.1) }?.offset
        say(String(format: "ours / transformers: %.2f× (medians; per-round range %.2f–%.2f×); tokens identical: %@", cached.median / theirs.median,
                   zip(peerSeconds, cachedSeconds).map { $0 / $1 }.min()!, zip(peerSeconds, cachedSeconds).map { $0 / $1 }.max()!,
                   peerTokens.map { Int32($0) } == cachedTokens ? "yes" : "no, first difference at new token \(firstDiff.map(String.init) ?? "?")"))
        say(String(format: "ours / transformers by CPU time: %.2f× (medians)", rateSummary(cachedCPU, tokens: 1).median / rateSummary(peerCPU, tokens: 1).median))
    }
    var uncachedSeconds: [Double] = [], uncachedCPU: [Double] = [], uncachedTokens: [Int32] = []
    for _ in 0..<2 {
        let (out, s, c) = try timed {
            try greedyGenerate(prompt: prompt, maxNewTokens: decodeNewTokens, eos: nil) { Array(try model.sequenceLogits($0).suffix(vocab)) }
        }
        uncachedSeconds.append(s); uncachedCPU.append(c); uncachedTokens = out
        say(String(format: "uncached run: %.1f s wall, %.1f s CPU", s, c))
    }
    let uncached = rateSummary(uncachedSeconds, tokens: decodeNewTokens)
    say("ours, no cache:    \(uncached.text) wall; \(rateSummary(uncachedCPU, tokens: decodeNewTokens).text) of process CPU time")
    say(String(format: "KV cache speed-up: %.1f× (medians; range %.1f–%.1f×); tokens identical: %@", cached.median / uncached.median,
               uncachedSeconds.min()! / cachedSeconds.max()!, uncachedSeconds.max()! / cachedSeconds.min()!,
               cachedTokens == uncachedTokens ? "yes" : "NO"))
    say(String(format: "KV cache speed-up by CPU time: %.1f× (medians)", rateSummary(cachedCPU, tokens: 1).median / rateSummary(uncachedCPU, tokens: 1).median))
}

/// Prints and flushes (the bench's output often goes to a file).
func say(_ line: String) {
    print(line)
    fflush(stdout)
}

/// Runs tools/bench_decode_torch.py on the same prompt, tokens and threads (`runPythonPeer`).
func runDecodePeer(folder: String, prompt: [Int32]) -> [String: Any]? {
    runPythonPeer(script: "tools/bench_decode_torch.py",
                  ["--model", folder, "--prompt", prompt.map(String.init).joined(separator: ","),
                   "--new-tokens", "\(decodeNewTokens)", "--threads", "\(decodeThreads)", "--runs", "1"])
}

/// Our quantized SmolLM2 decoding beside f32 (rounds alternate the three models), the f32 tied head's
/// share of a step (its GEMV timed alone), and llama.cpp `llama-bench -p 0 -n 128 -pg 16,128 -t 2 -r 3`
/// on GGUF files we write (`GGUFExport`, byte-identical to llama-quantize's) when its binaries are in
/// WHITTLE_LLAMA_BIN (default /tmp/whittle-llamacpp/llama.cpp/build/bin). llama-bench's pp16+tg128
/// rate counts all 144 tokens; it is converted to our statistic, 128 new tokens / total time.
func runQuantizedDecoding(folder: String, f32: TransformerModel) throws {
    if decodeBandwidth == nil {
        let ceiling = decodeReadCeiling(f32, threads: decodeThreads)
        decodeBandwidth = ceiling.best; decodeCeilingCPURate = 1 / ceiling.cpu
    }
    var models: [(name: String, model: TransformerModel)] = [("f32", f32)]
    // "+head": the pass with "lm_head" in targets (the tied head untied and quantized, HeadUntying.swift).
    let passes: [(String, Pass)] = [("w8a8", Int8Quantization()), ("w8a8+head", Int8Quantization(targets: ["Linear", "lm_head"])),
                                    ("nf4", NF4Quantization(blockSize: 64, doubleQuant: true)),
                                    ("nf4+head", NF4Quantization(blockSize: 64, doubleQuant: true, targets: ["Linear", "lm_head"]))]
    for (name, pass) in passes {
        models.append((name, try quantizedBenchModel(folder, pass: pass, output: NSTemporaryDirectory() + "whittle-bench-smollm2-\(name)")))
    }
    for m in models { _ = try greedyGenerate(model: m.model, prompts: [decodePrompt], maxNewTokens: 8, eos: nil) }
    var wall = [[Double]](repeating: [], count: models.count), cpu = wall, tokens = [[Int32]](repeating: [], count: models.count)
    for _ in 0..<decodeRuns {
        for (i, m) in models.enumerated() {
            let (out, s, c) = try timed { try greedyGenerate(model: m.model, prompts: [decodePrompt], maxNewTokens: decodeNewTokens, eos: nil) }
            wall[i].append(s); cpu[i].append(c); tokens[i] = out[0]
        }
    }
    var load = [Double](repeating: 0, count: 3)
    getloadavg(&load, 3)
    say(String(format: "quantized decoding (rounds alternate %@; load average %.2f, %.2f, %.2f):",
               models.map(\.name).joined(separator: ", "), load[0], load[1], load[2]))
    for (i, m) in models.enumerated() {
        let same = zip(tokens[i], tokens[0]).prefix { $0 == $1 }.count
        let wallRate = rateSummary(wall[i], tokens: decodeNewTokens), bytes = decodeStepBytes(m.model)
        let ceilingRate = decodeBandwidth.map { $0 * 1e9 / Double(bytes) }
        say("  \(m.name): \(wallRate.text) wall; \(rateSummary(cpu[i], tokens: decodeNewTokens).text) of CPU time; "
            + "first \(same) of \(decodeNewTokens) tokens equal f32's; "
            + String(format: "%.3f GB of weights a step", Double(bytes) / 1e9)
            + (ceilingRate.map { String(format: " → read ceiling %.1f tokens/s, median ÷ ceiling %.2f", $0, wallRate.median / $0) } ?? "")
            + String(format: "; by CPU time ÷ ceiling %.2f", rateSummary(cpu[i], tokens: decodeNewTokens).median
                     / (decodeCeilingCPURate * Double(decodeStepBytes(models[0].model)) / Double(bytes))))
    }

    // The tied head (vocabulary × hidden, f32, unquantized in both layouts): one decode step's GEMV alone.
    let c = f32.config.hidden, v = f32.config.vocabSize
    let head = [Float](repeating: 0.01, count: v * c), x = [Float](repeating: 0.5, count: c)
    head.withUnsafeBytes { _ = backWithHugePages([($0.baseAddress!, $0.count)]) }   // as the model's head is when decoding
    var logits = [Float](repeating: 0, count: v)
    var headWall: [Double] = [], headCPU: [Double] = []
    for _ in 0..<5 {
        let (_, s, cp) = timed { for _ in 0..<20 { matmulForward(&logits, x, head, nil, rows: 1, inFeatures: c, outFeatures: v) } }
        headWall.append(s / 20); headCPU.append(cp / 20)
    }
    let headMs = headWall.sorted()[2] * 1000
    var shares: [String] = []
    for (i, m) in models.enumerated() {
        let stepMs = wall[i].sorted()[wall[i].count / 2] / Double(decodeNewTokens) * 1000
        shares.append(String(format: "%@ %.0f %%", m.name, 100 * headMs / stepMs))
    }
    say(String(format: "  f32 head GEMV (%d × %d, %.0f MB) alone: %.2f ms wall median, %.2f ms CPU; share of a median step: %@",
               v, c, Double(v * c * 4) / 1e6, headMs, headCPU.sorted()[2] * 1000, shares.joined(separator: ", ")))
    // The quantized heads alone (int8: codes + f32 scale per row; NF4: packed codes + one u8 absmax per block).
    for (name, label, mb) in [("w8a8+head", "int8", Double(v * c + 4 * v) / 1e6), ("nf4+head", "NF4", Double(v * c / 2 + v * c / 64) / 1e6)] {
        guard let i = models.firstIndex(where: { $0.name == name }), let quantizedHead = models[i].model.head.lmHead,
              quantizedHead is W8A8Linear || quantizedHead is NF4Linear else { continue }
        var headTimes: [Double] = []
        for _ in 0..<5 {
            let (_, s, _) = timed { for _ in 0..<20 { x.withUnsafeBufferPointer { quantizedHead.forward(&logits, $0.baseAddress!, rows: 1) } } }
            headTimes.append(s / 20)
        }
        let ms = headTimes.sorted()[2] * 1000, stepMs = wall[i].sorted()[wall[i].count / 2] / Double(decodeNewTokens) * 1000
        say(String(format: "  %@ head (%.0f MB) alone: %.2f ms wall median = %.2f× the f32 head's time; %.0f %% of a median %@ step",
                   label, mb, ms, headMs / ms, 100 * ms / stepMs, name))
    }
    try runLlamaBenchDecode(folder: folder)
}

func runLlamaBenchDecode(folder: String) throws {
    let bin = ProcessInfo.processInfo.environment["WHITTLE_LLAMA_BIN"] ?? "/tmp/whittle-llamacpp/llama.cpp/build/bin"
    guard FileManager.default.fileExists(atPath: bin + "/llama-bench") else {
        say("llama-bench skipped: no \(bin)/llama-bench (tools/setup_llamacpp.sh builds it; or set WHITTLE_LLAMA_BIN)")
        return
    }
    for type in [GGUFExportType.f16, .q8_0, .q4_0] {
        let gguf = NSTemporaryDirectory() + "whittle-bench-smollm2-\(type.rawValue).gguf"
        if !FileManager.default.fileExists(atPath: gguf) {
            try GGUFExport.write(try openTensorStore(path: folder), to: gguf, type: type, tokenizerFolder: folder)
        }
        say(llamaBenchDecodeLine(bin: bin, gguf: gguf, label: type.rawValue.uppercased()))
    }
}

/// One llama-bench run (`-p 0 -n 128 -pg 16,128 -t 2 -r 3`) on `gguf`, as a line of the report.
func llamaBenchDecodeLine(bin: String, gguf: String, label: String) -> String {
    guard let text = run(bin + "/llama-bench", ["-m", gguf, "-p", "0", "-n", "\(decodeNewTokens)", "-pg", "\(decodePrompt.count),\(decodeNewTokens)",
                                                "-t", "\(decodeThreads)", "-r", "3", "-o", "json"], environment: ["LD_LIBRARY_PATH": bin]),
          let rows = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
        return "  llama-bench \(label) failed"
    }
    var line = "  llama.cpp \(label) (llama-bench, 3 runs):"
    for row in rows {
        guard let p = row["n_prompt"] as? Int, let g = row["n_gen"] as? Int, let ts = row["avg_ts"] as? Double,
              let sd = row["stddev_ts"] as? Double else { continue }
        if p == 0 { line += String(format: " tg%d %.1f ± %.1f t/s;", g, ts, sd) } else {
            line += String(format: " pp%d+tg%d %.1f ± %.1f t/s = %.1f new tokens/s by our statistic;", p, g, ts, sd, Double(g) * ts / Double(p + g))
        }
    }
    return line
}

/// `pass` applied to the checkpoint in `folder`, written to `output` once (reused when it exists),
/// loaded as `compress eval` loads a compressed model.
func quantizedBenchModel(_ folder: String, pass: Pass, output: String) throws -> TransformerModel {
    if !FileManager.default.fileExists(atPath: output + "/config.json") {
        let editable = EditableCheckpoint(source: try Checkpoint(path: folder))
        let report = try pass.apply(to: editable, context: PassContext())
        try CheckpointFolderWriter.write(editable, to: output, inputs: [folder + "/model.safetensors"])
        _ = try report.completed()
    }
    return try TransformerModel.loadCompressed(from: try openTensorStore(path: output))
}
