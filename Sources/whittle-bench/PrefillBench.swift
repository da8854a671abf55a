import Foundation
import Whittle

// Suite `prefill` (issue 20): one 512-token sequence through the f32 forward, 2 threads, against
// llama.cpp F16 (`llama-bench -p 512 -n 0`, which computes the last token's logits) with our
// last-token-logits forward, and against PyTorch float32 (tools/bench/prefill_torch.py) with every
// position's logits. Same statistic on every side: tokens/s of each run (llama-bench's per-rep
// `samples_ts`), min–max and median; rounds alternate the sides so load changes hit all of them.
// Models: SmolLM2-135M (the f32 folder) and the 0.84 B random-weight Llama shape (`quant-eval`'s
// checkpoint in /tmp). Arguments (defaults): `models=smollm2,0.84b rounds=5 runs=2 threads=2 seq=512`;
// for A/B runs of two builds, `peers=none` (ours only) and `modes=last` or `modes=all` (one of our two);
// `ab=KNOB pairs=N` instead times our forward with a knob off and on in alternating pairs in one process
// (`prefillAB`: on a loaded machine both sides of a pair see about the same load).

extension BenchLlamaShape {
    /// The 0.84 B Llama shape (hidden 2048, FFN 5632, 16 layers, GQA 32/4, vocabulary 32000, untied head).
    static let llama084B = BenchLlamaShape(hidden: 2048, layers: 16, heads: 32, kvHeads: 4, intermediate: 5632, vocab: 32000)
    static let llama084BFolder = NSTemporaryDirectory() + "whittle-bench-llama-0.84b"

    /// Writes the random-weight F32 checkpoint (weights ≈ 0.02·N(0,1), norms 1) unless `folder` has one.
    func writeRandomF32IfMissing(to folder: String) throws {
        if FileManager.default.fileExists(atPath: folder + "/config.json") { return }
        say("writing \(folder) (\(String(format: "%.1f", Double(specs().reduce(0) { $0 + $1.shape.reduce(1, *) }) * 4 / 1e9)) GB F32)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        try SafetensorsWriter.write(to: folder + "/model.safetensors", specs: specs(dtype: .F32)) { spec in
            let n = spec.shape.reduce(1, *)
            if spec.shape.count == 1 { return Tensor(floats: [Float](repeating: 1, count: n), shape: spec.shape) }
            let storage = TensorStorage(zeroedByteCount: n * 4)
            let p = storage.mutableBytes.bindMemory(to: Float.self)
            for i in 0..<n {   // xorshift: sum of two uniforms, scaled like 0.02·N(0,1)
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                p[i] = (Float(state & 0xFFFF) / 65536 + Float((state >> 16) & 0xFFFF) / 65536 - 1) * 0.05
            }
            return Tensor(dtype: .F32, shape: spec.shape, storage: storage)
        }
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: folder + "/config.json"))
    }

    /// The shape of a loaded Llama-family model (per-layer widths of layer 0), one sequence of `seqLen`.
    init(model: TransformerModel, seqLen: Int) {
        let c = model.config
        self.init(hidden: c.hidden, layers: c.numLayers, heads: c.numHeads, kvHeads: c.numKVHeads,
                  intermediate: model.layers[0].ffnWidth, vocab: c.vocabSize, batch: 1, seqLen: seqLen)
    }
}

/// Tokens/s of each run: "min–max (median m)", and the median.
private func rates(_ tokensPerSecond: [Double]) -> (median: Double, text: String) {
    let r = tokensPerSecond.sorted()
    guard !r.isEmpty else { return (.nan, "no runs") }
    let median = r.count % 2 == 1 ? r[r.count / 2] : (r[r.count / 2 - 1] + r[r.count / 2]) / 2
    return (median, String(format: "%.1f–%.1f tokens/s (median %.1f, %d runs)", r.first!, r.last!, median, r.count))
}

func runPrefillBench() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    var options: [String: String] = [:]
    for a in CommandLine.arguments.dropFirst() { let kv = a.split(separator: "=", maxSplits: 1); if kv.count == 2 { options[String(kv[0])] = String(kv[1]) } }
    let models = (options["models"] ?? "smollm2,0.84b").split(separator: ",").map(String.init)
    let rounds = Int(options["rounds"] ?? "5") ?? 5, runs = Int(options["runs"] ?? "2") ?? 2
    let threads = Int(options["threads"] ?? "2") ?? 2, seqLen = Int(options["seq"] ?? "512") ?? 512
    let peers = options["peers"] != "none", modes = Set((options["modes"] ?? "last,all").split(separator: ",").map(String.init))
    Threads.set(threads)
    let env = ProcessInfo.processInfo.environment
    let bin = env["WHITTLE_LLAMA_BIN"] ?? "/tmp/whittle-llamacpp/llama.cpp/build/bin"
    let llamaRoot = URL(fileURLWithPath: bin).deletingLastPathComponent().deletingLastPathComponent().path
    for name in models {
        if let knob = options["ab"] {
            guard let folder = name == "smollm2" ? smolLM2Folder() : BenchLlamaShape.llama084BFolder else { continue }
            try prefillAB(name: name, folder: folder, knob: knob, pairs: Int(options["pairs"] ?? "10") ?? 10, seqLen: seqLen,
                          lastOnly: !modes.contains("all"))
            continue
        }
        let folder: String, gguf: String
        switch name {
        case "smollm2":
            guard let f = smolLM2Folder() else { say("prefill smollm2 skipped: SmolLM2-135M not found (../shared/tools/get-smollm2.sh)"); continue }
            folder = f
            gguf = NSTemporaryDirectory() + "whittle-bench-smollm2-f16.gguf"
            if !FileManager.default.fileExists(atPath: gguf) {
                try GGUFExport.write(try openTensorStore(path: folder), to: gguf, type: .f16, tokenizerFolder: folder)
            }
        case "0.84b":
            folder = BenchLlamaShape.llama084BFolder
            try BenchLlamaShape.llama084B.writeRandomF32IfMissing(to: folder)
            gguf = folder + "-f16.gguf"
            if !FileManager.default.fileExists(atPath: gguf), FileManager.default.fileExists(atPath: llamaRoot + "/gguf-py") {
                say("writing \(gguf) (tools/bench/llama_f16_gguf.py)")
                _ = runPythonPeer(script: "tools/bench/llama_f16_gguf.py", [folder, gguf], environment: ["PYTHONPATH": llamaRoot + "/gguf-py"])
            }
        default:
            say("prefill: unknown model '\(name)' (smollm2, 0.84b)"); continue
        }
        try prefillRounds(name: name, folder: folder, gguf: gguf, bin: bin, rounds: rounds, runs: runs, threads: threads, seqLen: seqLen,
                          peers: peers, modes: modes)
    }
}

private func prefillRounds(name: String, folder: String, gguf: String, bin: String, rounds: Int, runs: Int, threads: Int, seqLen: Int,
                           peers: Bool, modes wanted: Set<String>) throws {
    let model = try TransformerModel.load(path: folder)
    let shape = BenchLlamaShape(model: model, seqLen: seqLen)
    var rng: UInt64 = 20
    let ids = (0..<seqLen).map { _ -> Int in rng = rng &* 6364136223846793005 &+ 1442695040888963407; return Int((rng >> 33) % UInt64(shape.vocab)) }
    let idsFile = NSTemporaryDirectory() + "whittle-bench-prefill-ids-\(getpid()).txt"
    try ids.map(String.init).joined(separator: " ").write(toFile: idsFile, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: idsFile) }
    let input = ModelInput(tokens: [ids])
    let modes: [(label: String, options: ForwardOptions)] = [("last", ForwardOptions(headRows: .last)), ("all", ForwardOptions())]
    for m in modes { _ = try model.forward(input, options: m.options) }   // warm-up

    var ours = [[Double]](repeating: [], count: 2), cpu = [[Double]](repeating: [], count: 2), llama: [Double] = [], torch: [Double] = [], ceilings: [Double] = []
    var llamaNote = "", torchNote = ""
    let hasLlama = peers && FileManager.default.fileExists(atPath: bin + "/llama-bench") && FileManager.default.fileExists(atPath: gguf)
    for round in 1...max(1, rounds) {
        let before = (ours[0].count, ours[1].count, llama.count, torch.count)
        defer {   // one flushed line per round: each side's runs in this round, tokens/s
            func f(_ r: ArraySlice<Double>) -> String { r.map { String(format: "%.1f", $0) }.joined(separator: " ") }
            say(String(format: "  round %d (sgemm ceiling %.1f GFLOP/s): ours last [%@], llama.cpp [%@], ours all [%@], PyTorch [%@]", round, ceilings.last!,
                       f(ours[0][before.0...]), f(llama[before.2...]), f(ours[1][before.1...]), f(torch[before.3...])))
        }
        ceilings.append(sgemmCeiling(rows: seqLen, shapes: [(shape.hidden, shape.hidden), (shape.intermediate, shape.hidden), (shape.hidden, shape.intermediate)]))
        for (i, m) in modes.enumerated() {
            for _ in 0..<runs where wanted.contains(m.label) {
                let (_, wall, seconds) = try timed { try model.forward(input, options: m.options) }
                ours[i].append(Double(seqLen) / wall)
                cpu[i].append(seconds)
            }
            if i == 0, hasLlama {   // llama.cpp: its own warm-up, then `runs` reps
                if let text = run(bin + "/llama-bench", ["-m", gguf, "-p", "\(seqLen)", "-n", "0", "-t", "\(threads)", "-r", "\(runs)", "-o", "json"],
                                  environment: ["LD_LIBRARY_PATH": bin]),
                   let rows = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]],
                   let row = rows.first, let samples = row["samples_ts"] as? [Double] {
                    llama += samples
                    llamaNote = "\(row["type_k"] ?? "?") cache, flash_attn \(row["flash_attn"] ?? "?"), n_batch \(row["n_batch"] ?? "?"), build \(row["build_commit"] ?? "?")"
                } else { llamaNote = "llama-bench failed" }
            }
            if i == 1, peers, let out = runPythonPeer(script: "tools/bench/prefill_torch.py",
                                               [folder, idsFile, "--mode", "all", "--runs", "\(runs)", "--threads", "\(threads)"]) {
                torch += (out["seconds"] as? [Double] ?? []).map { Double(seqLen) / $0 }
                torchNote = "torch \(out["torch"] ?? "?"), attention \(out["attn"] ?? "?")"
            }
        }
    }
    var load = [Double](repeating: 0, count: 3)
    getloadavg(&load, 3)
    let ceiling = ceilings.max()!
    say(String(format: "prefill %@: one %d-token sequence, hidden %d, %d layers, heads %d/%d, FFN %d, vocabulary %d; %d threads; %d rounds × %d runs alternating; load average %.2f, %.2f, %.2f",
               name, seqLen, shape.hidden, shape.layers, shape.heads, shape.kvHeads, shape.intermediate, shape.vocab, threads, rounds, runs, load[0], load[1], load[2]))
    say(String(format: "  sgemm ceiling at M = %d on the model's linear shapes: %.1f GFLOP/s (best of the rounds; range %.1f–%.1f)",
               seqLen, ceiling, ceilings.min()!, ceilings.max()!))
    let ourLast = rates(ours[0]), ourAll = rates(ours[1]), l = rates(llama), t = rates(torch)
    for (i, (label, r, allLogits)) in [("last-token logits", ourLast, false), ("all logits", ourAll, true)].enumerated() where !ours[i].isEmpty {
        let gflops = r.median * shape.forwardFLOPs(allLogits: allLogits) / Double(seqLen) / 1e9
        let c = cpu[i].sorted()
        say(String(format: "  ours f32, %@: %@ = %.1f GFLOP/s at the median = %.2f × sgemm ceiling; CPU %.3f–%.3f s per forward (median %.3f)",
                   label, r.text, gflops, gflops / ceiling, c.first!, c.last!, c[c.count / 2]))
    }
    if !peers { return }
    if hasLlama {
        say(String(format: "  llama.cpp F16 llama-bench -p %d -n 0 (last-token logits; %@): %@; ours / llama.cpp medians %.2f×",
                   seqLen, llamaNote, l.text, ourLast.median / l.median))
    } else {
        say("  llama.cpp skipped: no \(bin)/llama-bench or no \(gguf) (tools/setup_llamacpp.sh; WHITTLE_LLAMA_BIN)")
    }
    if torch.isEmpty {
        say("  PyTorch skipped (set WHITTLE_PYTHON to a python with torch + transformers)")
    } else {
        say(String(format: "  PyTorch float32 (all logits; %@): %@; ours / PyTorch medians %.2f×", torchNote, t.text, ourAll.median / t.median))
    }
}

/// The knobs `ab=` switches: each sets the feature on (true) or off (false, the path before it).
private let abKnobs: [String: (Bool) -> Void] = [
    "panel": { PanelGemm.enabled = $0 },   // f32 linears at ≥ panelGemmRows rows: panel GEMM on the pool vs OpenBLAS
    "soloattention": { PanelGemm.soloAttention = $0 },   // attention's OpenBLAS on one thread at prefill size
    "headsoncores": { PanelGemm.headsOnCores = $0 },     // with it, the heads spread over the pool's seats
    "none": { _ in },                      // both sides the same (the noise of a pair; a profile of one path)
]

/// Our forward with `knob` off and on, alternating within each pair (off-on, then on-off), `pairs` pairs
/// after a warm-up of each: wall and CPU seconds of every run, and the median of the pairs' off/on ratios.
private func prefillAB(name: String, folder: String, knob: String, pairs: Int, seqLen: Int, lastOnly: Bool) throws {
    guard let set = abKnobs[knob] else { say("prefill ab: unknown knob '\(knob)' (\(abKnobs.keys.sorted().joined(separator: ", ")))"); return }
    let model = try TransformerModel.load(path: folder)
    var rng: UInt64 = 20
    let vocab = model.config.vocabSize
    let ids = (0..<seqLen).map { _ -> Int in rng = rng &* 6364136223846793005 &+ 1442695040888963407; return Int((rng >> 33) % UInt64(vocab)) }
    let input = ModelInput(tokens: [ids]), options = lastOnly ? ForwardOptions(headRows: .last) : ForwardOptions()
    defer { set(true) }
    func run(_ on: Bool) throws -> (Double, Double) {
        set(on)
        let (_, wall, cpu) = try timed { try model.forward(input, options: options) }
        return (wall, cpu)
    }
    _ = try run(false); _ = try run(true)
    var off: [(Double, Double)] = [], on: [(Double, Double)] = []
    for p in 0..<pairs {
        if p % 2 == 0 { off.append(try run(false)); on.append(try run(true)) } else { on.append(try run(true)); off.append(try run(false)) }
    }
    func median(_ v: [Double]) -> Double { let s = v.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }
    var load = [Double](repeating: 0, count: 3)
    getloadavg(&load, 3)
    let ratios = zip(off, on).map { $0.0 / $1.0 }
    say(String(format: "prefill ab %@ %@ (%@ logits, %d tokens, %d pairs, load %.2f): off %.3f s (CPU %.3f), on %.3f s (CPU %.3f) medians; off/on per pair median %.3f (range %.3f–%.3f); tokens/s on %.1f, off %.1f",
               knob, name, lastOnly ? "last-token" : "all", seqLen, pairs, load[0], median(off.map(\.0)), median(off.map(\.1)),
               median(on.map(\.0)), median(on.map(\.1)), median(ratios), ratios.min()!, ratios.max()!,
               Double(seqLen) / median(on.map(\.0)), Double(seqLen) / median(off.map(\.0))))
}
