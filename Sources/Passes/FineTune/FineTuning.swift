import Foundation
import Checkpoints
import Datasets
import Models
import Tensors
import Training

/// Pass `finetune`: plain supervised fine-tuning on the recipe's training data (classification
/// labels, regression targets or next tokens), through the `Training` engine. The trained weights
/// are written back into the checkpoint with each tensor's stored dtype; the loss curve goes into
/// the report. No dropout is applied (the engine is deterministic).
public struct FineTuning: Pass, Equatable {
    public static let kind = "finetune"
    public static var category: PassCategory { .training }
    public var needs: PassNeeds { .training }

    public var lr: Float = 2e-5
    /// Optimizer steps; when nil, `epochs` passes over the data decide.
    public var steps: Int?
    public var epochs: Int = 1
    public var batchSize: Int = 16
    public var gradientAccumulation: Int = 1
    public var warmupSteps: Int?
    public var warmupRatio: Float = 0
    public var schedule: LearningRateSchedule.Decay = .linear
    public var optimizer: TrainerSettings.OptimizerKind = .adamw
    public var weightDecay: Float = 0.01
    public var maxGradNorm: Float? = 1
    public var labelSmoothing: Float = 0
    /// Examples longer than this are truncated (keeping the start).
    public var maxLength: Int?
    /// Shuffle seed; nil uses the recipe seed.
    public var seed: UInt64?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case lr, steps, epochs, batchSize = "batch_size", gradientAccumulation = "gradient_accumulation", warmupSteps = "warmup_steps"
        case warmupRatio = "warmup_ratio", schedule, optimizer, weightDecay = "weight_decay", maxGradNorm = "max_grad_norm"
        case labelSmoothing = "label_smoothing", maxLength = "max_length", seed
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.passKeys(CodingKeys.self)
        try c.update(&lr, .lr)
        try c.update(&steps, .steps)
        try c.update(&epochs, .epochs)
        try c.update(&batchSize, .batchSize)
        try c.update(&gradientAccumulation, .gradientAccumulation)
        try c.update(&warmupSteps, .warmupSteps)
        try c.update(&warmupRatio, .warmupRatio)
        try c.update(&schedule, .schedule)
        try c.update(&optimizer, .optimizer)
        try c.update(&weightDecay, .weightDecay)
        try c.update(&maxGradNorm, .maxGradNorm)
        try c.update(&labelSmoothing, .labelSmoothing)
        try c.update(&maxLength, .maxLength)
        try c.update(&seed, .seed)
    }

    public func validate(path: String) throws {
        guard lr > 0, lr.isFinite else { throw PassError("\(path).lr", "must be a positive number (got \(lr))") }
        if let steps, steps <= 0 { throw PassError("\(path).steps", "must be positive (got \(steps))") }
        guard epochs > 0 else { throw PassError("\(path).epochs", "must be positive (got \(epochs))") }
        guard batchSize > 0 else { throw PassError("\(path).batch_size", "must be positive (got \(batchSize))") }
        guard gradientAccumulation > 0 else { throw PassError("\(path).gradient_accumulation", "must be positive (got \(gradientAccumulation))") }
        if let w = warmupSteps, w < 0 { throw PassError("\(path).warmup_steps", "must be ≥ 0 (got \(w))") }
        guard (0...1).contains(warmupRatio) else { throw PassError("\(path).warmup_ratio", "must be in [0, 1] (got \(warmupRatio))") }
        guard weightDecay >= 0 else { throw PassError("\(path).weight_decay", "must be ≥ 0 (got \(weightDecay))") }
        if let m = maxGradNorm, !(m > 0) { throw PassError("\(path).max_grad_norm", "must be positive or null (got \(m))") }
        guard (0..<1).contains(labelSmoothing) else { throw PassError("\(path).label_smoothing", "must be in [0, 1) (got \(labelSmoothing))") }
        if let l = maxLength, l < 2 { throw PassError("\(path).max_length", "must be at least 2 (got \(l))") }
    }

    /// Trainer settings for `examples` training examples.
    public func settings(examples: Int) -> TrainerSettings {
        var s = TrainerSettings()
        let perEpoch = max(1, (examples + batchSize - 1) / batchSize / gradientAccumulation)
        s.steps = steps ?? perEpoch * epochs
        s.warmupSteps = min(s.steps, warmupSteps ?? Int((warmupRatio * Float(s.steps)).rounded()))
        s.lr = lr; s.decay = schedule; s.optimizer = optimizer; s.weightDecay = weightDecay
        s.maxGradNorm = maxGradNorm; s.accumulation = gradientAccumulation; s.labelSmoothing = labelSmoothing
        return s
    }

    public func apply(to model: EditableCheckpoint, context: PassContext) throws -> PassReport {
        try validate(path: Self.kind)
        guard !context.training.isEmpty else {
            throw PassError(Self.kind, "needs training examples: add a \"training\" data section to the recipe")
        }
        let network = try TransformerModel.load(from: model)
        let trainable = try TrainableModel(network)
        let batcher: ExampleBatcher
        do {
            batcher = try ExampleBatcher(config: network.config, modelConfig: model.config, maxLength: maxLength, examples: context.training)
        } catch TrainingError.invalidExamples(let reason) {
            throw PassError(Self.kind, reason)
        }
        let settings = settings(examples: context.training.count)
        let trainer = try Trainer(model: trainable, settings: settings)
        let loader = DataLoader(context.training, batchSize: batchSize, seed: seed ?? context.seed)
        var tokens = 0
        // Resume (`--resume`): `Trainer.run` restores parameters, optimizer state and loss curve of the last
        // saved step; batches are a function of the step, so the steps that follow are the uninterrupted run's.
        context.progress.start("finetune: \(settings.steps) steps", settings.steps)
        try trainer.run(batch: { step in
            let b = try batcher.batch(loader.batch(step: step))
            tokens += b.tokenCount
            return b
        }, checkpoint: context.trainingCheckpoint(), progress: { step, _ in
            context.progress.update(step)
            context.ledger.afterStep?(step)
        })
        context.progress.finish()
        let resumedAt = trainer.resumedAt
        for i in 0..<((resumedAt ?? 0) * settings.accumulation) { tokens += try batcher.batch(loader.batch(step: i)).tokenCount }
        let changes = try writeBack(trainable, into: model)
        let curve = trainer.lossCurve
        let tail = curve.suffix(max(1, curve.count / 10))
        let first = Double(curve.first ?? 0), last = Double(tail.reduce(0, +)) / Double(max(1, tail.count))
        return PassReport(
            kind: Self.kind,
            summary: String(format: "fine-tuned %d steps (batch %d × %d, lr %g, %@ schedule): loss %.4f → %.4f",
                            settings.steps, batchSize, gradientAccumulation, Double(lr), schedule.rawValue, first, last),
            metrics: ["steps": Double(settings.steps), "examples": Double(context.training.count), "tokens": Double(tokens),
                      "first_loss": first, "final_loss": last, "trained_tensors": Double(changes.count)],
            tensors: changes,
            series: [.init(title: "Training loss", xLabel: "step", yLabel: "loss",
                           labels: trainer.lossSeries.labels, values: trainer.lossSeries.values)],
            notes: ["no dropout during training; AdamW weight decay applies to matrices and embeddings, not to norms or biases"]
                + (resumedAt.map { ["resumed at step \($0) from the training state a killed run saved"] } ?? []))
    }

    /// Writes every parameter training changed back with the dtype it is stored in (names and layout from
    /// the family name table, with the prefix found in the checkpoint).
    func writeBack(_ trainable: TrainableModel, into model: EditableCheckpoint) throws -> [PassReport.TensorChange] {
        var changes: [PassReport.TensorChange] = []
        for t in trainable.model.namedTensors() {
            guard let spec = model.spec(t.name) else {
                throw PassError(Self.kind, "trained tensor '\(t.name)' is not in the checkpoint (unexpected \(trainable.config.family.rawValue) layout)")
            }
            guard spec.shape == t.shape else {
                throw PassError(Self.kind, "trained tensor '\(t.name)' has shape \(t.shape), the checkpoint stores \(spec.shape)")
            }
            // Frozen tensors (removed sublayers) come back as they were loaded: leave them untouched.
            if try model.tensor(t.name).floats() == t.values { continue }
            model.set(t.name, Tensor(floats: t.values, shape: t.shape, dtype: spec.dtype))
            changes.append(.init(name: t.name, before: "\(spec.dtype) \(spec.shape)", after: "\(spec.dtype) \(spec.shape) (trained)"))
        }
        return changes
    }
}
