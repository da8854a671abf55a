import Models
import Checkpoints
import Models
import Datasets

/// The mechanism at small scale (ALGORITHMS.md §6.5): a decoder with `modelFolder`'s shape, initialised
/// from scratch with `seed`, learns `syntheticArithmetic` (label = (a + b)·c mod 10, rationale = the two
/// steps) by DSS and label-only on `fractions` of `train` examples, each run `steps` steps of `batchSize`
/// (equal budgets); scored by exact match of the greedy label on `test` held-out inputs. Deterministic.
public func syntheticDistillationExperiment(modelFolder: String, train: Int = 800, test: Int = 200, fractions: [Double] = [0.125, 0.25, 0.5, 1],
                                            steps: Int = 3000, batchSize: Int = 16, lr: Float = 1e-3, seed: UInt64 = 0,
                                            progress: ProgressReporter = .silent) throws -> PassReport {
    let all = syntheticArithmetic(count: train + test, seed: seed)
    let data = RationaleData(task: .jsonl, train: Array(all.prefix(train)), validation: [], test: Array(all.suffix(test)), parseFailures: [:])
    let model = EditableCheckpoint(source: try Checkpoint(path: modelFolder))
    try randomlyInitialize(model, seed: seed)
    var pass = DistillStepByStep()
    pass.baselines = [.labelOnly]
    pass.fractions = fractions
    pass.maxNewTokens = 4
    pass.maxTargetLength = 32
    pass.reportRationales = 4
    pass.training.steps = steps
    pass.training.batchSize = batchSize
    pass.training.lr = lr
    pass.training.warmupRatio = 0.05
    pass.training.weightDecay = 0.01
    var context = PassContext(progress: progress, seed: seed)
    context.rationales = data
    context.tokenizer = CharacterCodec(alphabet: "0123456789+*= :\nabcdefghijklmnopqrstuvwxyz")
    return try pass.apply(to: model, context: context)
}
