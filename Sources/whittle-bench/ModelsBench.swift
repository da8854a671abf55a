import Foundation
import Whittle

// Suite `models` (issue 7): Llama-shaped forward throughput against the sgemm ceiling and PyTorch,
// and peak RSS of layer-streamed calibration against whole-model load.

/// The benchmark model's shape (hidden 1024, 8 layers, seq 512, batch 4).
struct BenchLlamaShape {
    var hidden = 1024, layers = 8, heads = 8, kvHeads = 8, intermediate = 2816, vocab = 49152   // SmolLM2's vocabulary, so llama.cpp's converter accepts its tokenizer
    var batch = 4, seqLen = 512
    var headDim: Int { hidden / heads }

    /// Useful FLOPs of one forward (causal attention counts the visible T(T+1)/2 scores), with logits for every
    /// position (`allLogits`) or only the last of each sequence (what llama-bench's prompt pass computes).
    func forwardFLOPs(allLogits: Bool = true) -> Double {
        let n = Double(batch * seqLen), c = Double(hidden), hd = Double(headDim)
        let linear = 2 * n * c * (c + 2 * Double(kvHeads) * hd + c + 3 * Double(intermediate))
        let attention = 2 * 2 * Double(batch * heads) * Double(seqLen * (seqLen + 1) / 2) * hd
        return Double(layers) * (linear + attention) + 2 * (allLogits ? n : Double(batch)) * c * Double(vocab)
    }

    var config: [String: Any] {
        ["architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden, "intermediate_size": intermediate,
         "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kvHeads, "vocab_size": vocab,
         "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "tie_word_embeddings": false, "rope_theta": 10000.0,
         "hidden_act": "silu"]
    }

    /// The Llama checkpoint's tensors in `dtype` (F16 for the models bench, F32 for quant-eval).
    func specs(dtype: DType = .F16) -> [TensorSpec] {
        var s = [TensorSpec(name: "model.embed_tokens.weight", dtype: dtype, shape: [vocab, hidden]),
                 TensorSpec(name: "model.norm.weight", dtype: dtype, shape: [hidden]),
                 TensorSpec(name: "lm_head.weight", dtype: dtype, shape: [vocab, hidden])]
        let kv = kvHeads * headDim
        for i in 0..<layers {
            let p = "model.layers.\(i)."
            s += [TensorSpec(name: p + "self_attn.q_proj.weight", dtype: dtype, shape: [hidden, hidden]),
                  TensorSpec(name: p + "self_attn.k_proj.weight", dtype: dtype, shape: [kv, hidden]),
                  TensorSpec(name: p + "self_attn.v_proj.weight", dtype: dtype, shape: [kv, hidden]),
                  TensorSpec(name: p + "self_attn.o_proj.weight", dtype: dtype, shape: [hidden, hidden]),
                  TensorSpec(name: p + "mlp.gate_proj.weight", dtype: dtype, shape: [intermediate, hidden]),
                  TensorSpec(name: p + "mlp.up_proj.weight", dtype: dtype, shape: [intermediate, hidden]),
                  TensorSpec(name: p + "mlp.down_proj.weight", dtype: dtype, shape: [hidden, intermediate]),
                  TensorSpec(name: p + "input_layernorm.weight", dtype: dtype, shape: [hidden]),
                  TensorSpec(name: p + "post_attention_layernorm.weight", dtype: dtype, shape: [hidden])]
        }
        return s
    }

    /// Writes a random-weight F16 checkpoint folder (streamed, one tensor in memory at a time).
    func write(to folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: folder + "/config.json"))
        var state: UInt64 = 0x9E3779B97F4A7C15
        try SafetensorsWriter.write(to: folder + "/model.safetensors", specs: specs()) { spec in
            let count = spec.shape.reduce(1, *)
            if spec.shape.count == 1 { return Tensor(floats: [Float](repeating: 1, count: count), shape: spec.shape, dtype: .F16) }
            let scale = 1 / Float(spec.shape[1]).squareRoot()
            let values = (0..<count).map { _ -> Float in
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
            return Tensor(floats: values, shape: spec.shape, dtype: .F16)
        }
    }

    func input(seed: Int) -> ModelInput {
        ModelInput(tokens: (0..<batch).map { b in (0..<seqLen).map { t in (b * 7919 + t * 104729 + seed) % vocab } })
    }
}

/// Best sgemm GFLOP/s over the model's linear shapes (M = B·T rows).
func sgemmCeiling(rows m: Int, shapes: [(n: Int, k: Int)]) -> Double {
    var best = 0.0
    for (n, k) in shapes {
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        for _ in 0..<2 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            sgemm(transA: false, transB: true, m: m, n: n, k: k, a, lda: k, b, ldb: k, &c, ldc: n)
            let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = max(best, 2 * Double(m * n * k) / s / 1e9)
        }
    }
    return best
}


/// Runs tools/bench_models_torch.py (PyTorch CPU eager, same shape and threads); nil when unavailable.
func torchForwardSeconds(_ shape: BenchLlamaShape, threads: Int) -> Double? {
    runTorchPeer(script: "tools/bench_models_torch.py", shape, threads: threads)?["seconds"] as? Double
}

/// Runs a PyTorch peer script in tools/ on the same Llama shape and threads (`runPythonPeer`).
func runTorchPeer(script relative: String, _ shape: BenchLlamaShape, threads: Int) -> [String: Any]? {
    runPythonPeer(script: relative, ["--hidden", "\(shape.hidden)", "--layers", "\(shape.layers)", "--heads", "\(shape.heads)",
                                     "--kv-heads", "\(shape.kvHeads)", "--intermediate", "\(shape.intermediate)", "--vocab", "\(shape.vocab)",
                                     "--batch", "\(shape.batch)", "--seq", "\(shape.seqLen)", "--threads", "\(threads)", "--repeats", "3"])
}

/// Runs a Python peer script in tools/ (`WHITTLE_PYTHON`, default the /root/venv interpreter) and
/// returns the JSON object it prints on its last line; nil when Python or the script is unavailable.
func runPythonPeer(script relative: String, _ arguments: [String], environment: [String: String] = [:]) -> [String: Any]? {
    let python = ProcessInfo.processInfo.environment["WHITTLE_PYTHON"] ?? "/root/venv/bin/python"
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(relative).path
    guard FileManager.default.isExecutableFile(atPath: python), FileManager.default.fileExists(atPath: script) else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script] + arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last else { return nil }
    return try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
}

func runModelsBench() throws {
    let shape = BenchLlamaShape()
    let folder = NSTemporaryDirectory() + "whittle-bench-llama-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try shape.write(to: folder)
    let store = try Checkpoint(path: folder)
    let calibration = [shape.input(seed: 1)]

    // Peak RSS: layer-streamed calibration (no head) versus whole-model load + the same forward.
    resetPeakRSS()
    let base = peakRSSMegabytes()
    _ = try LayerStreamingExecutor(store: store).run(calibration, options: ForwardOptions(computeHead: false))
    let streamedPeak = peakRSSMegabytes()
    resetPeakRSS()
    let model = try TransformerModel.load(from: store)
    _ = try model.forward(calibration[0], options: ForwardOptions(computeHead: false))
    let wholePeak = peakRSSMegabytes()
    let f32Weights = Double(store.parameterCount * 4) / 1e6
    print(String(format: "peak RSS: layer-streamed %.0f MB, whole-model %.0f MB (ratio %.2f); f32 weights %.0f MB, process base %.0f MB",
                 streamedPeak, wholePeak, streamedPeak / wholePeak, f32Weights, base))

    // Throughput: best of 3 rounds after a warm-up; the sgemm ceiling is re-measured before each
    // round so both see the same machine load (the project machine is shared).
    let n = shape.batch * shape.seqLen
    let input = shape.input(seed: 2)
    _ = try model.forward(input)
    var best = Double.infinity, ceiling = 0.0
    for _ in 0..<3 {
        ceiling = max(ceiling, sgemmCeiling(rows: n, shapes: [(shape.hidden, shape.hidden), (shape.intermediate, shape.hidden),
                                                              (shape.hidden, shape.intermediate)]))
        let t0 = DispatchTime.now().uptimeNanoseconds
        _ = try model.forward(input)
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    let gflops = shape.forwardFLOPs() / best / 1e9
    print(String(format: "llama forward (hidden %d, %d layers, batch %d × seq %d, vocab %d): %.0f tokens/s, %.1f GFLOP/s = %.2f × sgemm ceiling (%.1f GFLOP/s)",
                 shape.hidden, shape.layers, shape.batch, shape.seqLen, shape.vocab, Double(n) / best, gflops, gflops / ceiling, ceiling))
    if let torch = torchForwardSeconds(shape, threads: kernelThreads) {
        print(String(format: "pytorch eager fp32 (%d threads): %.0f tokens/s, %.1f GFLOP/s; whittle / pytorch speed = %.2f",
                     kernelThreads, Double(n) / torch, shape.forwardFLOPs() / torch / 1e9, torch / best))
    } else {
        print("pytorch: skipped (set WHITTLE_PYTHON to a python with torch + transformers)")
    }
    if let llama = llamaCppTokensPerSecond(folder: folder, threads: kernelThreads) {
        var one = shape; one.batch = 1
        let tokens = Double(n) / best
        print(String(format: "llama.cpp llama-bench pp%d F16 (%d threads): %.0f tokens/s, %.1f GFLOP/s (logits for the last token only); whittle / llama.cpp tokens/s = %.2f",
                     shape.seqLen, kernelThreads, llama, llama * one.forwardFLOPs(allLogits: false) / Double(shape.seqLen) / 1e9, tokens / llama))
    } else {
        print("llama.cpp: skipped (set WHITTLE_LLAMA_CPP to a llama.cpp source folder built by tools/setup_llamacpp.sh)")
    }
}

/// Converts the checkpoint with llama.cpp's `convert_hf_to_gguf.py` (F16) and runs
/// `llama-bench -p 512 -n 0 -t threads`; returns prompt tokens/s, nil when not set up.
func llamaCppTokensPerSecond(folder: String, threads: Int) -> Double? {
    let env = ProcessInfo.processInfo.environment
    guard let root = env["WHITTLE_LLAMA_CPP"] else { return nil }
    let python = env["WHITTLE_PYTHON"] ?? "/root/venv/bin/python"
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let tokenizer = repo.deletingLastPathComponent().appendingPathComponent("shared/tokenizers/smollm2-tokenizer.json").path
    guard FileManager.default.fileExists(atPath: tokenizer) else { return nil }
    try? FileManager.default.removeItem(atPath: folder + "/tokenizer.json")
    guard (try? FileManager.default.copyItem(atPath: tokenizer, toPath: folder + "/tokenizer.json")) != nil else { return nil }
    let gguf = folder + "/model-f16.gguf"
    var pythonPath = root + "/gguf-py"
    if let extra = env["WHITTLE_LLAMA_PYTHONPATH"] { pythonPath += ":" + extra }
    guard run(python, [root + "/convert_hf_to_gguf.py", folder, "--outtype", "f16", "--outfile", gguf],
              environment: ["PYTHONPATH": pythonPath]) != nil,
          let output = run(root + "/build/bin/llama-bench", ["-m", gguf, "-p", "512", "-n", "0", "-t", "\(threads)", "-r", "3", "-o", "json"]),
          let rows = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]],
          let tokensPerSecond = rows.first?["avg_ts"] as? Double else { return nil }
    try? FileManager.default.removeItem(atPath: gguf)
    return tokensPerSecond
}

/// Runs a program; its standard output, or nil when it fails.
func run(_ program: String, _ arguments: [String], environment: [String: String] = [:]) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
}
