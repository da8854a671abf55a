import Foundation
import Whittle

// Suite `distill` (issue 16): distilling step-by-step's mechanism at small scale — a small Llama-shaped
// decoder (2 layers, hidden 64, character vocabulary) trained from scratch on a synthetic two-step
// arithmetic task, DSS against label-only at 12.5/25/50/100 % of the training examples with equal step
// budgets; accuracy on 200 held-out inputs. Deterministic (seeded data, init and batches), so one run per
// seed is the measurement. Knobs: DISTILL_SEEDS (0), DISTILL_STEPS (3000), DISTILL_TRAIN (800),
// DISTILL_BATCH (16), DISTILL_LR (0.001).
func runDistillBench() throws {
    let env = ProcessInfo.processInfo.environment
    let seeds = (env["DISTILL_SEEDS"] ?? "0").split(separator: ",").compactMap { UInt64($0) }
    let steps = Int(env["DISTILL_STEPS"] ?? "") ?? 3000
    let train = Int(env["DISTILL_TRAIN"] ?? "") ?? 800
    let batch = Int(env["DISTILL_BATCH"] ?? "") ?? 16
    let lr = Float(env["DISTILL_LR"] ?? "") ?? 1e-3
    var shape = BenchLlamaShape()
    shape.hidden = 64; shape.layers = 2; shape.heads = 4; shape.kvHeads = 4; shape.intermediate = 128; shape.vocab = 48
    let folder = NSTemporaryDirectory() + "whittle-bench-distill-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try shape.write(to: folder)
    for seed in seeds {
        let t0 = Date()
        let progress = ProgressReporter(start: { label, _ in print(label) },
                                        update: { done in print(String(format: "  run %d done (%.0f s)", done, Date().timeIntervalSince(t0))) },
                                        finish: {})
        let report = try syntheticDistillationExperiment(modelFolder: folder, train: train, steps: steps, batchSize: batch, lr: lr,
                                                         seed: seed, progress: progress)
        print("seed \(seed), \(steps) steps × batch \(batch) per run, lr \(lr) (\(String(format: "%.0f", Date().timeIntervalSince(t0))) s): \(report.summary)")
        for table in report.tables ?? [] {
            print(table.title)
            print(table.header.joined(separator: " | "))
            for row in table.rows { print(row.joined(separator: " | ")) }
        }
    }
}
