import Foundation
import Models

/// Settings of a supervised training run (recipe keys of passes that train).
public struct TrainerSettings: Codable, Sendable, Equatable {
    public enum OptimizerKind: String, Codable, Sendable { case adamw, sgd }
    public var optimizer: OptimizerKind = .adamw
    public var lr: Float = 2e-5
    public var steps: Int = 100
    public var warmupSteps: Int = 0
    public var decay: LearningRateSchedule.Decay = .linear
    public var weightDecay: Float = 0.01
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var eps: Float = 1e-8
    public var momentum: Float = 0
    /// Clip the global gradient norm to this (nil: no clipping).
    public var maxGradNorm: Float? = 1
    /// Micro-batches whose gradients are averaged into one optimizer step.
    public var accumulation: Int = 1
    public var labelSmoothing: Float = 0

    public init() {}

    public func validate() throws {
        guard lr > 0, lr.isFinite else { throw TrainingError.invalidSetting(key: "lr", reason: "must be a positive number, got \(lr)") }
        guard steps > 0 else { throw TrainingError.invalidSetting(key: "steps", reason: "must be positive, got \(steps)") }
        guard warmupSteps >= 0, warmupSteps <= steps else { throw TrainingError.invalidSetting(key: "warmup_steps", reason: "must be in 0...\(steps), got \(warmupSteps)") }
        guard weightDecay >= 0 else { throw TrainingError.invalidSetting(key: "weight_decay", reason: "must be ≥ 0, got \(weightDecay)") }
        guard accumulation >= 1 else { throw TrainingError.invalidSetting(key: "gradient_accumulation", reason: "must be ≥ 1, got \(accumulation)") }
        if let m = maxGradNorm, !(m > 0) { throw TrainingError.invalidSetting(key: "max_grad_norm", reason: "must be positive, got \(m)") }
        guard (0..<1).contains(labelSmoothing) else { throw TrainingError.invalidSetting(key: "label_smoothing", reason: "must be in [0, 1), got \(labelSmoothing)") }
    }

    public var schedule: LearningRateSchedule { LearningRateSchedule(peak: lr, warmupSteps: warmupSteps, totalSteps: steps, decay: decay) }
}

/// The training loop: loss → backward (accumulated over micro-batches) → clip → optimizer step,
/// recording the loss curve, with checkpoints of model + optimizer so a long run resumes.
public final class Trainer {
    public let model: TrainableModel
    public let settings: TrainerSettings
    public let optimizer: Optimizer
    /// Mean loss of each completed optimizer step.
    public internal(set) var lossCurve: [Float] = []
    public private(set) var gradNorms: [Float] = []
    /// Hooks of every training forward (gates, site hooks, weight fake-quant).
    public var options: ForwardOptions = ForwardOptions()
    /// Loss of one micro-batch; nil uses `supervisedLoss` with `options`.
    public var loss: ((TrainableModel, TrainingBatch, Tape) throws -> Variable)?
    /// State of the loop around the trainer that checkpoints carry (a pass's own curves, a random
    /// generator's state), JSON in the checkpoint's metadata: `save` gives it, `restore` takes it back.
    public var loopState: (save: () throws -> Data, restore: (Data) throws -> Void)?
    /// The step `run` resumed at from its checkpoint (nil: it started afresh).
    public internal(set) var resumedAt: Int?

    public init(model: TrainableModel, settings: TrainerSettings, extraParameters: [Variable] = []) throws {
        try settings.validate()
        self.model = model; self.settings = settings
        let params = model.parameters + extraParameters
        switch settings.optimizer {
        case .adamw: optimizer = AdamW(parameters: params, beta1: settings.beta1, beta2: settings.beta2, eps: settings.eps, weightDecay: settings.weightDecay)
        case .sgd: optimizer = SGD(parameters: params, momentum: settings.momentum, weightDecay: settings.weightDecay)
        }
    }

    public var step: Int { optimizer.stepCount }

    /// Cross-entropy on classifier labels or next tokens; MSE for regression targets.
    public static func supervisedLoss(_ model: TrainableModel, _ batch: TrainingBatch, _ tape: Tape, labelSmoothing: Float = 0,
                                      options: ForwardOptions = ForwardOptions()) throws -> Variable {
        let out = try model.forward(batch.input, options: options, tape: tape)
        if let r = batch.regression { return tape.meanSquaredError(out.logits, target: r) }
        let classes = out.shape.last!
        guard out.logits.count == batch.targets.count * classes else {
            throw TrainingError.invalidBatch(reason: "\(batch.targets.count) targets for logits of shape \(out.shape)")
        }
        return tape.crossEntropy(out.logits, targets: batch.targets, classes: classes, labelSmoothing: labelSmoothing)
    }

    /// One optimizer step over `microBatches` (their gradients averaged). Returns the mean loss.
    @discardableResult
    public func train(_ microBatches: [TrainingBatch]) throws -> Float {
        precondition(!microBatches.isEmpty)
        optimizer.zeroGrad()
        var total: Float = 0
        let weight = 1 / Float(microBatches.count)
        for batch in microBatches {
            let tape = Tape()
            let l = try loss?(model, batch, tape)
                ?? Trainer.supervisedLoss(model, batch, tape, labelSmoothing: settings.labelSmoothing, options: options)
            total += l.value[0]
            tape.backward(from: l, seed: [weight])
        }
        if let maxNorm = settings.maxGradNorm { gradNorms.append(clipGradientNorm(optimizer.parameters, maxNorm: maxNorm)) }
        optimizer.step(lr: settings.schedule.rate(step: optimizer.stepCount))
        let mean = total * weight
        lossCurve.append(mean)
        return mean
    }

    /// Runs until `settings.steps`, taking micro-batch `i` of step `s` from `batch(s·accumulation + i)`;
    /// `progress(step, loss)` after each step. With a `checkpoint`, a run first resumes from it when the
    /// file exists (`resumedAt`), then saves it every `checkpoint.every` steps and after the last one
    /// (so a finished run is never trained again). Batches must be a function of the step index, so the
    /// steps after a resume are the uninterrupted run's.
    public func run(batch: (Int) throws -> TrainingBatch, checkpoint: TrainingCheckpoint? = nil,
                    progress: (Int, Float) throws -> Void = { _, _ in }) throws {
        if let checkpoint, FileManager.default.fileExists(atPath: checkpoint.path) {
            try resume(from: checkpoint.path)
            resumedAt = step
        }
        while step < settings.steps {
            let k = settings.accumulation
            let micro = try (0..<k).map { try batch(step * k + $0) }
            let l = try train(micro)
            try progress(step, l)
            if let checkpoint, checkpoint.isDue(step: step, of: settings.steps) { try save(to: checkpoint.path) }
        }
    }

    /// Loss curve as x/y for a report series.
    public var lossSeries: (labels: [String], values: [Double]) {
        (lossCurve.indices.map { String($0 + 1) }, lossCurve.map(Double.init))
    }
}
