// Suite `quantization`: NF4 quantization of a ≥ 2 GB F32 checkpoint streamed from its memory map to
// the writer (throughput as a ratio of memcpy bandwidth, peak RSS against the largest tensor), the
// same tensors through bitsandbytes' CPU quantize_4bit (tools/quant_bench_bnb.py, when Python is
// present), and matmul on NF4 / int8 weights against f32 sgemm.
import Foundation
import Whittle

/// A Llama-shaped F32 checkpoint of ≈ 2.3 GB (hidden 2048, FFN 5632, 10 layers, vocab 32000).
func makeBenchCheckpoint(at folder: String) throws -> (bytes: Int, largest: Int) {
    let (c, f, layers, vocab) = (2048, 5632, 10, 32000)
    var specs: [TensorSpec] = [TensorSpec(name: "model.embed_tokens.weight", dtype: .F32, shape: [vocab, c]),
                               TensorSpec(name: "model.norm.weight", dtype: .F32, shape: [c])]
    for i in 0..<layers {
        let p = "model.layers.\(i)."
        for n in ["q_proj", "k_proj", "v_proj", "o_proj"] { specs.append(TensorSpec(name: p + "self_attn.\(n).weight", dtype: .F32, shape: [c, c])) }
        specs.append(TensorSpec(name: p + "mlp.gate_proj.weight", dtype: .F32, shape: [f, c]))
        specs.append(TensorSpec(name: p + "mlp.up_proj.weight", dtype: .F32, shape: [f, c]))
        specs.append(TensorSpec(name: p + "mlp.down_proj.weight", dtype: .F32, shape: [c, f]))
        specs.append(TensorSpec(name: p + "input_layernorm.weight", dtype: .F32, shape: [c]))
        specs.append(TensorSpec(name: p + "post_attention_layernorm.weight", dtype: .F32, shape: [c]))
    }
    let bytes = specs.reduce(0) { $0 + $1.byteCount }, largest = specs.map(\.byteCount).max()!
    if FileManager.default.fileExists(atPath: folder + "/model.safetensors") { return (bytes, largest) }
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    try SafetensorsWriter.write(to: folder + "/model.safetensors", specs: specs) { spec in
        let n = spec.shape.reduce(1, *)
        let storage = TensorStorage(zeroedByteCount: n * 4)
        let p = storage.mutableBytes.bindMemory(to: Float.self)
        for i in 0..<n {   // xorshift: sum of two uniforms, scaled like 0.02·N(0,1)
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            let a = Float(state & 0xFFFF) / 65536, b = Float((state >> 16) & 0xFFFF) / 65536
            p[i] = (a + b - 1) * 0.05
        }
        return Tensor(dtype: .F32, shape: spec.shape, storage: storage)
    }
    let config: [String: Any] = ["architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": c,
                                 "intermediate_size": f, "num_hidden_layers": layers, "num_attention_heads": 16,
                                 "num_key_value_heads": 16, "vocab_size": vocab, "rms_norm_eps": 1e-5]
    try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: folder + "/config.json"))
    return (bytes, largest)
}



/// Reads a file once (8 MiB at a time) so that timed readers find it in the page cache.
func warmPageCache(_ path: String) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: 8 << 20, alignment: 64)
    defer { buffer.deallocate() }
    while read(fd, buffer, 8 << 20) > 0 {}
}

/// CPU time of the calling thread: robust to other processes sharing the cores (the project machine
/// runs several jobs on 2 cores), for single-threaded kernel-vs-memcpy ratios.
func threadCPUSeconds(_ body: () -> Void) -> Double {
    var a = timespec(), b = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a)
    body()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b)
    return Double(b.tv_sec - a.tv_sec) + Double(b.tv_nsec - a.tv_nsec) / 1e9
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

func runQuantizationBench() throws {
    let folder = NSTemporaryDirectory() + "whittle-bench-quant-f32"
    let output = NSTemporaryDirectory() + "whittle-bench-quant-nf4"
    var load = [Double](repeating: 0, count: 3)
    getloadavg(&load, 3)
    print(String(format: "load average %.2f, %.2f, %.2f", load[0], load[1], load[2]))
    print("generating / reusing \(folder)")
    let (bytes, largest) = try makeBenchCheckpoint(at: folder)
    let gb = Double(bytes) / 1e9
    print(String(format: "checkpoint: %.2f GB F32, largest tensor %.0f MB", gb, Double(largest) / 1e6))

    // Both sides read the checkpoint from the page cache: the first reader would otherwise pay the disk.
    warmPageCache(folder + "/model.safetensors")

    // 1. Streaming pass + write, with a fresh RSS high-water mark.
    resetPeakRSS()
    let rssBefore = (peakRSSBytes() ?? 0)
    let model = EditableCheckpoint(source: try Checkpoint(path: folder))
    var report: PassReport?
    let applySeconds = try seconds { report = try NF4Quantization().apply(to: model, context: PassContext()) }
    try? FileManager.default.removeItem(atPath: output)
    let writeSeconds = try seconds { try CheckpointFolderWriter.write(model, to: output, inputs: [folder + "/model.safetensors"]) }
    let completeSeconds = try seconds { report = try report!.completed() }   // errors were measured while writing
    let passSeconds = applySeconds + writeSeconds + completeSeconds
    let peak = (peakRSSBytes() ?? 0)
    let quantizedBytes = Double(report!.metrics["quantized_parameters"]! * 4)

    // 2. The kernel alone on one in-memory tensor (no I/O).
    let probe = try Checkpoint(path: folder).tensor("model.layers.0.mlp.up_proj.weight")
    let values = probe.floats()
    var best = Double.infinity
    for _ in 0..<3 {
        best = min(best, seconds { _ = values.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: probe.shape) } })
    }
    let kernelGBs = Double(values.count * 4) / best / 1e9

    // Single-thread kernel and memcpy in thread CPU time (contention-robust ratio).
    var packed = [UInt8](repeating: 0, count: values.count / 2), absmax = [Float](repeating: 0, count: values.count / 64)
    var cpuKernel = Double.infinity, cpuCopy = Double.infinity
    var copy = [Float](repeating: 0, count: values.count)
    for _ in 0..<3 {
        cpuKernel = min(cpuKernel, threadCPUSeconds {
            nf4Quantize(packed: &packed, absmax: &absmax, input: values, count: values.count, blockSize: 64)
        })
        cpuCopy = min(cpuCopy, threadCPUSeconds {
            copy.withUnsafeMutableBytes { d in values.withUnsafeBytes { s in _ = memcpy(d.baseAddress!, s.baseAddress!, s.count) } }
        })
    }
    print(String(format: "single thread, CPU time: nf4Quantize %.2f GB/s, memcpy %.2f GB/s → %.2f × memcpy",
                 Double(values.count * 4) / cpuKernel / 1e9, Double(values.count * 4) / cpuCopy / 1e9, cpuCopy / cpuKernel))

    let memcpyGBs = memcpyBandwidth()
    let streamGBs = quantizedBytes / 1e9 / passSeconds
    print(String(format: "memcpy bandwidth: %.2f GB/s", memcpyGBs))
    print(String(format: "nf4 kernel (in memory, f32 in): %.2f GB/s = %.2f × memcpy", kernelGBs, kernelGBs / memcpyGBs))
    print(String(format: "nf4 streaming pass: apply %.2f s (absmax pass for the offsets) + write %.2f s (mmap → quantize + error → file) "
                 + "+ report %.3f s = %.2f s for %.2f GB quantized = %.2f GB/s = %.2f × memcpy",
                 applySeconds, writeSeconds, completeSeconds, passSeconds, quantizedBytes / 1e9, streamGBs, streamGBs / memcpyGBs))
    // The I/O any program doing this job pays the kernel: read the input file, write the output's bytes.
    let outputBytes = (try? FileManager.default.attributesOfItem(atPath: output + "/model.safetensors")[.size] as? Int) ?? 0
    let ioAlone = try readSeconds(folder + "/model.safetensors") + writeCeilingSeconds(bytes: outputBytes, to: output + "/ceiling.bin")
    print(String(format: "I/O alone (pread the %.2f GB input + write(2) the %.2f GB output, fsync): %.2f s → the pass takes %.2f× that",
                 Double(bytes) / 1e9, Double(outputBytes) / 1e9, ioAlone, passSeconds / ioAlone))
    print(String(format: "report: mean relative error %.4f over %.0f weights", report!.metrics["mean_relative_error"] ?? .nan,
                 report!.metrics["quantized_weights"] ?? 0))
    print(String(format: "peak RSS during pass + write: %.0f MB (before %.0f MB); goal ≤ largest tensor + 256 MB = %.0f MB",
                 Double(peak) / 1e6, Double(rssBefore) / 1e6, Double(largest + (256 << 20)) / 1e6))

    // 3. bitsandbytes on the same tensors (optional peer).
    let python = "/root/venv/bin/python"
    if FileManager.default.fileExists(atPath: python) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["tools/quant_bench_bnb.py", folder + "/model.safetensors"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if let line = text.split(separator: "\n").last,
           let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
           let b = json["bytes"] as? Double, let s = json["seconds"] as? Double {
            let bnb = b / s / 1e9
            print(String(format: "bitsandbytes quantize_4bit (CPU, NF4+DQ): %.3f GB/s; ours: kernel %.1f×, streaming pass (apply + write) %.1f× faster",
                         bnb, kernelGBs / bnb, streamGBs / bnb))
        } else {
            print("bitsandbytes peer failed: \(text.prefix(200))")
        }
    } else {
        print("bitsandbytes peer skipped (no \(python))")
    }

    // 4. Matmul on quantized weights vs f32 sgemm.
    runQuantMatmulBench()
    try runLlamaCppQuantizePeer()
}

/// llama.cpp's `llama-quantize` Q4_0 / Q8_0 against our `nf4` and `int8` passes on one BF16 Llama
/// checkpoint (hidden 2048, FFN 5632, 10 layers, SmolLM2 vocabulary 49,152 so the converter accepts
/// the tokenizer; tied embeddings; 0.62 B parameters). Both sides go file to file from the page
/// cache; throughput is all parameters of the model over wall-clock seconds, best of 3.
func runLlamaCppQuantizePeer() throws {
    let env = ProcessInfo.processInfo.environment
    guard let root = env["WHITTLE_LLAMA_CPP"] else {
        print("llama.cpp llama-quantize: skipped (set WHITTLE_LLAMA_CPP to a llama.cpp source folder built by tools/setup_llamacpp.sh)")
        return
    }
    let quantize = root + "/build/bin/llama-quantize"
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let tokenizer = repo.deletingLastPathComponent().appendingPathComponent("shared/tokenizers/smollm2-tokenizer.json").path
    guard FileManager.default.fileExists(atPath: quantize), FileManager.default.fileExists(atPath: tokenizer) else {
        print("llama.cpp llama-quantize: skipped (no \(quantize) — build it with `cmake --build build --target llama-quantize` — or no \(tokenizer))")
        return
    }
    let folder = NSTemporaryDirectory() + "whittle-bench-quant-bf16-llama"
    let (c, f, layers, vocab) = (2048, 5632, 10, 49152)
    var specs = [TensorSpec(name: "model.embed_tokens.weight", dtype: .BF16, shape: [vocab, c]),
                 TensorSpec(name: "model.norm.weight", dtype: .BF16, shape: [c])]
    for i in 0..<layers {
        let p = "model.layers.\(i)."
        for n in ["q_proj", "k_proj", "v_proj", "o_proj"] { specs.append(TensorSpec(name: p + "self_attn.\(n).weight", dtype: .BF16, shape: [c, c])) }
        specs += [TensorSpec(name: p + "mlp.gate_proj.weight", dtype: .BF16, shape: [f, c]),
                  TensorSpec(name: p + "mlp.up_proj.weight", dtype: .BF16, shape: [f, c]),
                  TensorSpec(name: p + "mlp.down_proj.weight", dtype: .BF16, shape: [c, f]),
                  TensorSpec(name: p + "input_layernorm.weight", dtype: .BF16, shape: [c]),
                  TensorSpec(name: p + "post_attention_layernorm.weight", dtype: .BF16, shape: [c])]
    }
    let parameters = specs.reduce(0) { $0 + $1.shape.reduce(1, *) }
    if !FileManager.default.fileExists(atPath: folder + "/model.safetensors") {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        try SafetensorsWriter.write(to: folder + "/model.safetensors", specs: specs, metadata: ["format": "pt"]) { spec in
            let n = spec.shape.reduce(1, *)
            if spec.shape.count == 1 { return Tensor(floats: [Float](repeating: 1, count: n), shape: spec.shape, dtype: .BF16) }
            let values = (0..<n).map { _ -> Float in   // xorshift uniforms scaled like 0.02·N(0,1)
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                return (Float(state & 0xFFFF) / 65536 + Float((state >> 16) & 0xFFFF) / 65536 - 1) * 0.05
            }
            return Tensor(floats: values, shape: spec.shape, dtype: .BF16)
        }
        let config: [String: Any] = ["architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": c,
                                     "intermediate_size": f, "num_hidden_layers": layers, "num_attention_heads": 16,
                                     "num_key_value_heads": 16, "vocab_size": vocab, "rms_norm_eps": 1e-5,
                                     "max_position_embeddings": 2048, "tie_word_embeddings": true, "rope_theta": 10000.0,
                                     "hidden_act": "silu", "torch_dtype": "bfloat16"]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: folder + "/config.json"))
        try FileManager.default.copyItem(atPath: tokenizer, toPath: folder + "/tokenizer.json")
    }
    let gguf = folder + "/model-bf16.gguf"
    if !FileManager.default.fileExists(atPath: gguf) {
        let python = env["WHITTLE_PYTHON"] ?? "/root/venv/bin/python"
        var pythonPath = root + "/gguf-py"
        if let extra = env["WHITTLE_LLAMA_PYTHONPATH"] { pythonPath += ":" + extra }
        guard run(python, [root + "/convert_hf_to_gguf.py", folder, "--outtype", "bf16", "--outfile", gguf],
                  environment: ["PYTHONPATH": pythonPath]) != nil else {
            print("llama.cpp llama-quantize: convert_hf_to_gguf.py failed on \(folder)")
            return
        }
    }
    var load = [Double](repeating: 0, count: 3)
    getloadavg(&load, 3)
    print(String(format: "llama.cpp peer checkpoint: %.3f B parameters, BF16 safetensors and BF16 GGUF; load average %.2f, %.2f, %.2f",
                 Double(parameters) / 1e9, load[0], load[1], load[2]))
    func best(_ body: () throws -> Bool) rethrows -> Double? {
        var b = Double.infinity
        for _ in 0..<3 {
            var ok = false
            let s = try seconds { ok = try body() }
            guard ok else { return nil }
            b = min(b, s)
        }
        return b
    }
    let out = folder + "/out"
    var rows: [(String, Double)] = []
    for type in ["Q4_0", "Q8_0"] {
        let s = best { run(quantize, [gguf, out + ".gguf", type, "\(kernelThreads)"]) != nil }
        try? FileManager.default.removeItem(atPath: out + ".gguf")
        guard let s else { print("llama-quantize \(type) failed"); return }
        rows.append(("llama.cpp llama-quantize \(type) (\(kernelThreads) threads, GGUF BF16 → GGUF)", s))
    }
    let passes: [(String, Pass)] = [("nf4", NF4Quantization()), ("int8", Int8Quantization())]
    for (name, pass) in passes {
        var apply = Double.infinity, write = Double.infinity
        let s = try best {
            let model = EditableCheckpoint(source: try Checkpoint(path: folder))
            var report: PassReport?
            let a = try seconds { report = try pass.apply(to: model, context: PassContext()) }
            try? FileManager.default.removeItem(atPath: out)
            let w = try seconds {
                try CheckpointFolderWriter.write(model, to: out, inputs: [folder + "/model.safetensors"])
                _ = try report?.completed()
            }
            apply = min(apply, a); write = min(write, w)
            return true
        }!
        try? FileManager.default.removeItem(atPath: out)
        rows.append((String(format: "whittle %@ pass apply (%.2f s) + write (%.2f s), safetensors BF16 → safetensors", name, apply, write), s))
    }
    let q4 = Double(parameters) / rows[0].1
    for (label, s) in rows {
        let rate = Double(parameters) / s
        print(String(format: "%@: %.2f s = %.0f M params/s = %.2f × llama.cpp Q4_0", label, s, rate / 1e6, rate / q4))
    }
}

/// Suite `quant-matmul` (also part 4 of `quantization`): y[M, N] = x[M, K]·Wᵀ on NF4 (block 64, double
/// quant) and W8A8 weights against f32 sgemm (`matmulForward`: GEMV at M = 1, OpenBLAS sgemm above),
/// on the linears of the 0.6–0.8 B Llama shapes (hidden 2048, FFN 5632, GQA k/v 256 rows), M = 1, 16,
/// 128, 512. Each round runs f32, NF4, W8A8 one after the other (so they share the machine's load; the
/// first of them turns round by round), each ≥ 2 times and for ≈ 0.4 G multiply-adds; 5 rounds. Printed: best wall time per call and the
/// time ratio f32 ÷ quantized (> 1 = faster than f32) for best wall, and for the median of process
/// CPU time (all threads; steadier when other jobs share the cores). `Threads.count` threads.
/// WHITTLE_QUANT_SHAPES (e.g. `k/v,q/o`) and WHITTLE_QUANT_M (e.g. `1,512`) keep only those shapes / M.
/// Each segment (one side's `reps` calls) starts 0.15 s after the previous one ends (WHITTLE_QUANT_SETTLE=s
/// sets it; 0 = back to back), so each side is timed without the previous side's threads: OpenBLAS's
/// worker spins for ≈ 2^28 cycles (0.1 s) after an sgemm, and the scheduler then put the quantized side's
/// second thread on its caller's core (NF4 at M = 128 ran at 0.72× f32 in one quiet run and 1.34× in the
/// next; BENCHMARKS.md, session 10). Our pool's helpers now keep to cores of their own (pool.c, session 11),
/// and a model's prefill does run attention's sgemm between its linears, so WHITTLE_QUANT_SETTLE=0 is the
/// check that NF4 holds with the spinner beside it.
func runQuantMatmulBench() {
    var load = [Double](repeating: 0, count: 3)
    getloadavg(&load, 3)
    say(String(format: "quant-matmul: %d threads, load average %.2f, %.2f, %.2f; AVX-512 NF4 kernel: %@", Threads.count,
               load[0], load[1], load[2], NF4Matrix.fusedKernelAvailable ? "yes" : "no (tiled path)"))
    let env = ProcessInfo.processInfo.environment
    let only = env["WHITTLE_QUANT_SHAPES"]?.split(separator: ",").map(String.init)
    let settle = env["WHITTLE_QUANT_SETTLE"].flatMap(Double.init) ?? 0.15
    say(settle > 0 ? String(format: "each segment starts %.2f s after the previous one (WHITTLE_QUANT_SETTLE)", settle)
                   : "segments back to back (WHITTLE_QUANT_SETTLE=0): OpenBLAS's worker may still spin beside the quantized side")
    let ms = env["WHITTLE_QUANT_M"]?.split(separator: ",").compactMap { Int($0) } ?? [1, 16, 128, 512]
    let shapes = [(5632, 2048, "gate/up"), (2048, 5632, "down"), (2048, 2048, "q/o"), (256, 2048, "k/v GQA")]
        .filter { shape in only.map { $0.contains { shape.2.hasPrefix($0) } } ?? true }
    let rounds = 5
    var rng: UInt64 = 0x2545_F491_4F6C_DD1D
    func next() -> Float {   // xorshift, uniform in [−1, 1)
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        return Float(rng >> 40) / Float(1 << 23) - 1
    }
    say("| shape (N × K) | M | f32 GFLOP/s (best wall) | NF4 ÷ f32 time: wall best, CPU median | W8A8 ÷ f32: wall, CPU | µs per call, best wall: f32, NF4, W8A8 |")
    for (n, k, name) in shapes {
        let w = (0..<(n * k)).map { _ in next() * 0.05 }
        let nf4 = NF4Matrix(w.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: [n, k]) })
        var wq = [Int8](repeating: 0, count: n * k), ws = [Float](repeating: 0, count: n)
        int8QuantizeRows(q: &wq, scale: &ws, x: w, rows: n, cols: k)
        for m in ms {
            let x = (0..<(m * k)).map { _ in next() }
            var y = [Float](repeating: 0, count: m * n)
            let reps = max(2, 400_000_000 / (m * n * k))
            var wall = [[Double]](repeating: [], count: 3), cpu = wall
            for round in 0..<rounds {
                let bodies: [() -> Void] = [
                    { matmulForward(&y, x, w, nil, rows: m, inFeatures: k, outFeatures: n) },
                    { nf4LinearForward(y: &y, x: x, weight: nf4, bias: nil, m: m) },
                    { w8a8LinearForward(y: &y, x: x, weight: wq, weightScale: ws, bias: nil, m: m, n: n, k: k) }]
                // The order turns each round (f32 first, then NF4 first, …): without the settle, whichever
                // runs after OpenBLAS meets its worker thread still spinning (0.3.21's thread timeout).
                for i in (0..<3).map({ ($0 + round) % 3 }) {
                    let body = bodies[i]
                    let (_, s, c) = timed { for _ in 0..<reps { body() } }
                    wall[i].append(s / Double(reps)); cpu[i].append(c / Double(reps))
                    if settle > 0 { usleep(UInt32(settle * 1e6)) }
                }
            }
            let best = wall.map { $0.min()! }, med = cpu.map { $0.sorted()[rounds / 2] }
            let flops = 2.0 * Double(m * n * k)
            say(String(format: "| %@ %d × %d | %d | %.1f | %.2f×, %.2f× | %.2f×, %.2f× | %.1f, %.1f, %.1f |", name, n, k, m,
                       flops / best[0] / 1e9, best[0] / best[1], med[0] / med[1], best[0] / best[2], med[0] / med[2],
                       best[0] * 1e6, best[1] * 1e6, best[2] * 1e6))
        }
    }
}

/// Suite `quant-eval`: perplexity evaluation of the 0.84 B Llama shape (hidden 2048, FFN 5632, 16
/// layers, GQA 32/4 heads, vocabulary 32000, untied head; random weights ≈ 0.02·N(0,1), F32 in
/// /tmp) against its NF4 and W8A8 outputs of our `nf4` / `int8` passes, as `compress eval` loads them
/// (`loadCompressed`: NF4Linear / W8A8Linear). 1,024 seeded token ids in 512-token windows; rounds
/// alternate the three models; best and median of 3 rounds each, wall and process CPU time.
func runQuantEvalBench() throws {
    let folder = BenchLlamaShape.llama084BFolder
    let shape = BenchLlamaShape.llama084B
    let vocab = shape.vocab
    try shape.writeRandomF32IfMissing(to: folder)
    var models: [(name: String, model: TransformerModel)] = [("f32", try TransformerModel.load(path: folder))]
    let passes: [(String, Pass)] = [("nf4", NF4Quantization()), ("w8a8", Int8Quantization())]
    for (name, pass) in passes { models.append((name, try quantizedBenchModel(folder, pass: pass, output: folder + "-" + name))) }
    var rng: UInt64 = 12345
    let stream: [Int32] = (0..<1024).map { _ in rng = rng &* 6364136223846793005 &+ 1442695040888963407; return Int32((rng >> 33) % UInt64(vocab)) }
    var wall = [[Double]](repeating: [], count: models.count), cpu = wall, ppl = [Double](repeating: 0, count: models.count)
    for _ in 0..<3 {
        for (i, m) in models.enumerated() {
            let (r, s, cp) = try timed { try m.model.perplexity(of: stream, seqLen: 512, file: "bench") }
            wall[i].append(s); cpu[i].append(cp); ppl[i] = r.perplexity
        }
    }
    var load = [Double](repeating: 0, count: 3)
    getloadavg(&load, 3)
    say(String(format: "quant-eval: 0.84 B Llama shape, 1,024 tokens in 512-token windows, %d threads, load average %.2f, %.2f, %.2f",
               Threads.count, load[0], load[1], load[2]))
    for (i, m) in models.enumerated() {
        let w = wall[i].sorted(), cp = cpu[i].sorted()
        say(String(format: "  %@: wall best %.2f s, median %.2f s; CPU median %.2f s; ÷ f32 time: wall best %.2f×, CPU median %.2f×; perplexity %.1f",
                   m.name, w[0], w[1], cp[1], w[0] / wall[0].min()!, cp[1] / cpu[0].sorted()[1], ppl[i]))
    }
}
