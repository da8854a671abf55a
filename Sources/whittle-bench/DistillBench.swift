import Foundation
import Whittle

// Suite `distill` (issue 16): distilling step-by-step's mechanism at small scale — a 260K-parameter decoder
// (stories260K's shape) trained from scratch on a synthetic two-step arithmetic task, DSS against
// label-only at 12.5/25/50/100 % of 800 training examples, equal step budgets; accuracy on 200 held-out
// inputs. Deterministic (seeded data, init and batches), so one run per seed is the measurement.
func runDistillBench() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    let seeds = (ProcessInfo.processInfo.environment["DISTILL_SEEDS"] ?? "0").split(separator: ",").compactMap { UInt64($0) }
    let steps = Int(ProcessInfo.processInfo.environment["DISTILL_STEPS"] ?? "") ?? 600
    for seed in seeds {
        let t0 = Date()
        let report = try syntheticDistillationExperiment(modelFolder: root + "/fixtures/models/stories260K", steps: steps, seed: seed)
        print("seed \(seed), \(steps) steps per run (\(String(format: "%.0f", Date().timeIntervalSince(t0))) s): \(report.summary)")
        for table in report.tables ?? [] {
            print(table.title)
            print(table.header.joined(separator: " | "))
            for row in table.rows { print(row.joined(separator: " | ")) }
        }
    }
}
