// Bench executable: `whittle-bench [suite …]`. Each suite lives in its own file and prints
// ratios against a ceiling measured in the same run (sgemm GFLOP/s, memcpy bandwidth) or a peer.
import Foundation
import Whittle

let suites: [(name: String, run: () throws -> Void)] = [
    ("ceilings", runCeilingsBench),
    ("tokenizers", runTokenizersBench),
    ("models", runModelsBench),
    ("checkpoints", runCheckpointsBench),
    ("quantization", runQuantizationBench),
    ("quant-matmul", runQuantMatmulBench),
    ("quant-eval", runQuantEvalBench),
    ("ternary", runTernaryBench),
    ("training", runTrainingBench),
    ("pruning", runPruningBench),
    ("evaluation", runEvaluationBench),
    ("decoding", runDecodingBench),
    ("distill", runDistillBench),
]

let requested = Array(CommandLine.arguments.dropFirst())
for suite in suites where requested.isEmpty || requested.contains(suite.name) {
    print("== \(suite.name)")
    do { try suite.run() } catch { print("suite \(suite.name) failed: \(error)") }
}
