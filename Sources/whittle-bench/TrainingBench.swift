import Foundation
import Whittle

// Suite `training` (issue 6): one training step (forward + backward + AdamW) of a Llama-shaped
// model: tokens/s and achieved GFLOP/s as a fraction of the sgemm ceiling measured in the same
// run, against PyTorch CPU eager on the same model, batch and threads; peak RSS.

/// The training benchmark shape: smaller than the forward benchmark so a step fits the shared machine.
func trainingBenchShape() -> BenchLlamaShape {
    var s = BenchLlamaShape()
    s.hidden = 512; s.layers = 4; s.heads = 8; s.kvHeads = 8; s.intermediate = 1408; s.vocab = 8000
    s.batch = 4; s.seqLen = 256
    return s
}

/// Runs tools/bench_training_torch.py; returns its best step seconds (nil when unavailable).
func torchTrainingStepSeconds(_ shape: BenchLlamaShape, threads: Int) -> Double? {
    guard let json = runTorchPeer(script: "tools/bench_training_torch.py", shape, threads: threads) else { return nil }
    if let rss = json["peak_rss_mb"] as? Double { print(String(format: "pytorch peak RSS: %.0f MB", rss)) }
    return json["seconds"] as? Double
}

func runTrainingBench() throws {
    let shape = trainingBenchShape()
    let folder = NSTemporaryDirectory() + "whittle-bench-train-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try shape.write(to: folder)
    resetPeakRSS()
    let trainable = try TrainableModel(try TransformerModel.load(path: folder))
    var settings = TrainerSettings()
    settings.lr = 1e-4; settings.steps = 1000; settings.maxGradNorm = 1
    let trainer = try Trainer(model: trainable, settings: settings)
    let n = shape.batch * shape.seqLen
    let batch = TrainingBatch.languageModel(shape.input(seed: 3).tokens)
    _ = try trainer.train([batch])   // warm-up (allocates gradients and optimizer state)
    var best = Double.infinity, ceiling = 0.0
    for _ in 0..<3 {
        ceiling = max(ceiling, sgemmCeiling(rows: n, shapes: [(shape.hidden, shape.hidden), (shape.intermediate, shape.hidden),
                                                              (shape.hidden, shape.intermediate)]))
        let t0 = DispatchTime.now().uptimeNanoseconds
        _ = try trainer.train([batch])
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    let peak = peakRSSMegabytes()
    // Model FLOPs of a step: forward + backward (2× forward), the usual 3× convention.
    let flops = 3 * shape.forwardFLOPs()
    let gflops = flops / best / 1e9
    print(String(format: "training step (llama hidden %d, %d layers, batch %d × seq %d, vocab %d, AdamW): %.0f tokens/s, %.1f GFLOP/s = %.2f × sgemm ceiling (%.1f GFLOP/s); losses %@",
                 shape.hidden, shape.layers, shape.batch, shape.seqLen, shape.vocab, Double(n) / best, gflops, gflops / ceiling, ceiling,
                 trainer.lossCurve.map { String(format: "%.3f", $0) }.joined(separator: " ")))
    print(String(format: "peak RSS: %.0f MB (f32 weights + grads + AdamW state = %.0f MB)", peak, Double(trainable.parameters.reduce(0) { $0 + $1.count }) * 16 / 1e6))
    if let torch = torchTrainingStepSeconds(shape, threads: kernelThreads) {
        print(String(format: "pytorch eager fp32 (%d threads): %.0f tokens/s, %.1f GFLOP/s; whittle / pytorch speed = %.2f",
                     kernelThreads, Double(n) / torch, flops / torch / 1e9, torch / best))
    } else {
        print("pytorch: skipped (set WHITTLE_PYTHON to a python with torch + transformers)")
    }
}
