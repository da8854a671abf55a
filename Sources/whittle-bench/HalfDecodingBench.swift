import Foundation
import Whittle

// Suite `decoding`, the 16-bit part (WHITTLE_DECODE_HALF_ONLY=1 runs only it; otherwise it runs last):
// SmolLM2-135M-Instruct saved in BF16 by transformers (tools/bench/smollm2_bf16.py writes it beside the f32
// folder as "<folder>-bf16"; WHITTLE_SMOLLM2_BF16 overrides), loaded as `compress eval` loads it
// (`loadCompressed`: `HalfLinear` on the mapped BF16 weights, token table read in place, tied head BF16).
// 1. Rounds alternating ours f32, ours BF16 and transformers `generate` computing in bfloat16 (same prompt,
//    128 new tokens, same threads), each against its read ceiling (bytes a step reads / bandwidth measured
//    on the f32 weights). 2. llama.cpp `llama-bench` on F16 and BF16 GGUF files that llama.cpp's own
//    convert_hf_to_gguf.py makes from the same BF16 folder. 3. `compareDecoding` on the BF16 model for both
//    prompts: KV cache vs transformers (loading the BF16 folder as float32: the same arithmetic as ours, so
//    the tokens must match) and vs the uncached path.

func smolLM2BF16Folder(f32Folder: String) -> String? {
    let p = ProcessInfo.processInfo.environment["WHITTLE_SMOLLM2_BF16"] ?? f32Folder + "-bf16"
    return FileManager.default.fileExists(atPath: p + "/config.json") ? p : nil
}

func runHalfDecoding(f32Folder: String, f32: TransformerModel) throws {
    guard let folder = smolLM2BF16Folder(f32Folder: f32Folder) else {
        say("16-bit decoding skipped: no BF16 copy (run `/root/venv/bin/python tools/bench/smollm2_bf16.py`, or set WHITTLE_SMOLLM2_BF16)")
        return
    }
    let bf16 = try TransformerModel.loadCompressed(from: try openTensorStore(path: folder))
    let half = bf16.layers.flatMap { $0.linears.map(\.layer) }.filter { $0 is HalfLinear }.count + (bf16.head.lmHead is HalfLinear ? 1 : 0)
    say("-- SmolLM2-135M BF16 (\(folder)): \(half) linears on 16-bit weights (HalfLinear), f32 token table: \(bf16.embeddings.tokens.isEmpty ? "none" : "yes")")
    let ceiling = decodeReadCeiling(f32, threads: decodeThreads)
    decodeBandwidth = ceiling.best
    let models: [(name: String, model: TransformerModel)] = [("f32", f32), ("bf16", bf16)]
    for m in models { _ = try greedyGenerate(model: m.model, prompts: [decodePrompt], maxNewTokens: 8, eos: nil) }
    var wall = [[Double]](repeating: [], count: models.count + 1), cpu = wall, tokens = [[Int32]](repeating: [], count: models.count + 1)
    var peerInfo = ""
    // transformers computing in bfloat16 took minutes per 128 tokens here (load ≈ 7): one run, after the rounds,
    // unless WHITTLE_DECODE_TORCH_BF16_ROUNDS=1 puts it in every round.
    let peerEveryRound = ProcessInfo.processInfo.environment["WHITTLE_DECODE_TORCH_BF16_ROUNDS"] != nil
    for round in 0..<decodeRuns {
        for (i, m) in models.enumerated() {
            let (out, s, c) = try timed { try greedyGenerate(model: m.model, prompts: [decodePrompt], maxNewTokens: decodeNewTokens, eos: nil) }
            wall[i].append(s); cpu[i].append(c); tokens[i] = out[0]
        }
        if peerEveryRound || round == decodeRuns - 1, let peer = runPythonPeer(script: "tools/bench_decode_torch.py",
                                    ["--model", folder, "--prompt", decodePrompt.map(String.init).joined(separator: ","), "--dtype", "bfloat16",
                                     "--new-tokens", "\(decodeNewTokens)", "--threads", "\(decodeThreads)", "--runs", "1"]),
           let t = peer["seconds"] as? [Double], let pc = peer["cpu_seconds"] as? [Double], let ids = peer["tokens"] as? [Int] {
            wall[models.count] += t; cpu[models.count] += pc; tokens[models.count] = ids.map(Int32.init)
            peerInfo = "transformers \(peer["transformers"] ?? "?") bfloat16"
        }
    }
    var load = [Double](repeating: 0, count: 3)
    getloadavg(&load, 3)
    say(String(format: "16-bit decoding (rounds alternate ours f32, ours BF16, transformers bf16; load average %.2f, %.2f, %.2f; read bandwidth %.1f GB/s best):",
               load[0], load[1], load[2], ceiling.best))
    let names = models.map(\.name) + [peerInfo.isEmpty ? "transformers bf16 (skipped)" : peerInfo]
    for i in names.indices where !wall[i].isEmpty {
        let rate = rateSummary(wall[i], tokens: decodeNewTokens)
        var line = "  \(names[i]): \(rate.text) wall; \(rateSummary(cpu[i], tokens: decodeNewTokens).text) of CPU time"
        if i < models.count {
            let bytes = decodeStepBytes(models[i].model), ceilingRate = ceiling.best * 1e9 / Double(bytes)
            line += String(format: "; %.3f GB a step → read ceiling %.1f tokens/s, median ÷ ceiling %.2f", Double(bytes) / 1e9, ceilingRate, rate.median / ceilingRate)
        }
        let same = zip(tokens[i], tokens[1]).prefix { $0 == $1 }.count
        say(line + "; first \(same) of \(decodeNewTokens) tokens equal ours BF16's")
    }
    if !wall[models.count].isEmpty {
        say(String(format: "  ours BF16 / transformers bf16: %.2f× (medians of %d and %d runs)", rateSummary(wall[1], tokens: 1).median
                   / rateSummary(wall[models.count], tokens: 1).median, wall[1].count, wall[models.count].count))
    }
    if wall[models.count].count == wall[1].count, !wall[1].isEmpty {
        let ratios = zip(wall[models.count], wall[1]).map { $0 / $1 }
        say(String(format: "  per round ours BF16 / transformers bf16: %.2f–%.2f×", ratios.min()!, ratios.max()!))
    }
    say(String(format: "  ours BF16 / ours f32: %.2f× (medians)", rateSummary(wall[1], tokens: 1).median / rateSummary(wall[0], tokens: 1).median))

    // llama.cpp on GGUF files its own converter makes from the same BF16 folder.
    let bin = ProcessInfo.processInfo.environment["WHITTLE_LLAMA_BIN"] ?? "/tmp/whittle-llamacpp/llama.cpp/build/bin"
    let converter = URL(fileURLWithPath: bin).deletingLastPathComponent().deletingLastPathComponent().path + "/convert_hf_to_gguf.py"
    if FileManager.default.fileExists(atPath: bin + "/llama-bench"), FileManager.default.fileExists(atPath: converter) {
        let python = ProcessInfo.processInfo.environment["WHITTLE_PYTHON"] ?? "/root/venv/bin/python"
        for type in ["f16", "bf16"] {
            let gguf = NSTemporaryDirectory() + "whittle-bench-smollm2-bf16-hf-\(type).gguf"
            if !FileManager.default.fileExists(atPath: gguf) {
                _ = run(python, [converter, folder, "--outfile", gguf, "--outtype", type])
            }
            say(FileManager.default.fileExists(atPath: gguf) ? llamaBenchDecodeLine(bin: bin, gguf: gguf, label: type.uppercased() + " (convert_hf_to_gguf.py of the BF16 folder)")
                : "  llama.cpp \(type): convert_hf_to_gguf.py failed (needs sentencepiece and gguf in \(python))")
        }
    } else {
        say("  llama-bench skipped: no \(bin)/llama-bench or \(converter)")
    }

    // KV cache against transformers (float32 from the BF16 weights: our arithmetic) and the uncached path.
    let bf16Ceiling = ceiling.best * 1e9 / Double(decodeStepBytes(bf16))
    // compareDecoding's "by CPU time" ceiling: the f32 pass's CPU cost scaled to the BF16 bytes.
    let f32CPURate = decodeCeilingCPURate
    decodeCeilingCPURate = Double(decodeStepBytes(f32)) / Double(decodeStepBytes(bf16)) / ceiling.cpu
    defer { decodeCeilingCPURate = f32CPURate }
    try compareDecoding(model: bf16, folder: folder, prompt: decodePrompt, name: "BF16, fixed 16-token prompt", ceilingRate: bf16Ceiling)
    let svamp = sharedPath("data/distill/svamp/svamp_test.json")
    if let line = try? String(contentsOfFile: svamp, encoding: .utf8).split(separator: "\n").first,
       let row = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let input = row["input"] as? String {
        let prompt = try Tokenizer.load(folder: folder).encode("explain: " + input + "\n", addSpecialTokens: false).map(Int32.init)
        try compareDecoding(model: bf16, folder: folder, prompt: prompt, name: "BF16, SVAMP test row 1 as distill_step_by_step prompts it",
                            ceilingRate: bf16Ceiling)
    }
}
