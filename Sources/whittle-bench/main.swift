// Bench executable: `whittle-bench [suite …]`. Each suite lives in its own file and prints
// ratios against a ceiling measured in the same run (sgemm GFLOP/s, memcpy bandwidth) or a peer.
import Foundation
import Whittle

let suites: [(name: String, run: () throws -> Void)] = [
    ("ceilings", runCeilingsBench),
    ("tokenizers", runTokenizersBench),
    ("models", runModelsBench),
    ("prefill", runPrefillBench),
    ("checkpoints", runCheckpointsBench),
    ("quantization", runQuantizationBench),
    ("quant-matmul", runQuantMatmulBench),
    ("quant-eval", runQuantEvalBench),
    ("ternary", runTernaryBench),
    ("training", runTrainingBench),
    ("pruning", runPruningBench),
    ("optin-speed", runOptinSpeedBench),
    ("evaluation", runEvaluationBench),
    ("decoding", runDecodingBench),
    ("decoding-batch", runDecodingBatchBench),
    ("distill", runDistillBench),
]

// No argument lists the suites: several run for many minutes and write gigabytes to /tmp (quant-eval's
// 0.84 B model), so running everything takes `all`.
let requested = Array(CommandLine.arguments.dropFirst())
let names = suites.map(\.name)
guard !requested.isEmpty else {
    print("usage: whittle-bench all | SUITE [SUITE …] [suite arguments]; suites: \(names.joined(separator: ", "))")
    exit(0)
}
if let first = requested.first, first != "all", !names.contains(first) {
    FileHandle.standardError.write(Data("whittle-bench: unknown suite '\(first)'; suites: \(names.joined(separator: ", "))\n".utf8))
    exit(2)
}
for suite in suites where requested.contains("all") || requested.contains(suite.name) {
    print("== \(suite.name)")
    do { try suite.run() } catch { print("suite \(suite.name) failed: \(error)") }
}
