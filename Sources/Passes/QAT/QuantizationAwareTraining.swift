import Foundation
import Checkpoints
import Datasets
import Kernels
import Models
import Tensors
import Training

/// Pass `qat`: quantization-aware training with teacher intervention (Kim et al., EACL 2023;
/// ALGORITHMS.md §4). The teacher is the pass's input model (a copy loaded before training); the
/// student starts from the same weights, with fake-quantized block weights (ternary TWN or
/// symmetric n-bit, clamped to ±clip) and 8-bit dynamic activations. Step 1 trains with the
/// gradual intervention schedule (TI-G: O, then C from s/6, M from s/3), step 2 is plain KD-QAT
/// from the step-1 weights; each step has its own warm-up and linear decay (TI's two scripts).
/// Loss: the TernaryBERT objective (`DistillationObjective`). The written weights are the
/// quantizer's values on its grid, stored with each tensor's dtype.
public struct QuantizationAwareTraining: Pass, Equatable {
    public static let kind = "qat"
    public static var category: PassCategory { .quantization }
    public var needs: PassNeeds { evalEvery > 0 ? [.training, .calibration] : .training }

    /// Weight precision: ternary (TWN, per layer) or symmetric 2, 4, 8 bits per tensor.
    public enum WeightBits: String, Codable, Sendable, CaseIterable {
        case ternary, two = "2", four = "4", eight = "8"
        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            let raw = try (try? c.decode(Int.self)).map(String.init) ?? c.decode(String.self)
            guard let v = WeightBits(rawValue: raw) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "bits must be \"ternary\", 2, 4 or 8 (got \(raw))")
            }
            self = v
        }
        public var quantizer: (Float) -> Quantizer {
            switch self {
            case .ternary: return { .ternary(.tensor, clip: $0) }
            case .two: return { .symmetric(bits: 2, .tensor, clip: $0) }
            case .four: return { .symmetric(bits: 4, .tensor, clip: $0) }
            case .eight: return { .symmetric(bits: 8, .tensor, clip: $0) }
            }
        }
    }

    public var bits: WeightBits = .ternary
    /// Activation bits (symmetric, dynamic per tensor); null keeps activations in full precision.
    public var activationBits: Int? = 8
    /// Weights and activations are clamped to ±clip before quantization (TI `clip_val`).
    public var clip: Float = 2.5
    public var schedule: InterventionSchedule = .gradual
    /// Step 1 (with intervention) and step 2 (plain KD-QAT) optimizer steps; either may be 0.
    public var step1Steps: Int = 60
    public var step2Steps: Int = 120
    public var lr: Float = 2e-5
    /// Warm-up as a fraction of each step's own iterations, then linear decay (BertAdam).
    public var warmupRatio: Float = 0.1
    public var weightDecay: Float = 0.01
    public var batchSize: Int = 32
    public var maxGradNorm: Float? = 1
    public var maxLength: Int?
    /// Weight of the cross-entropy on the labels (0 as TernaryBERT/TI).
    public var groundTruthWeight: Float = 0
    /// Quantize the word embedding (per row) and the pooler (per tensor) with the weights, as TI.
    public var quantizeEmbeddingAndPooler: Bool = true
    /// Every this many steps (and before and after training), the fake-quantized student's accuracy
    /// (weights and activations) on the recipe's `calibration` examples — use held-out labeled data
    /// there; 0 turns it off. Classifiers only.
    public var evalEvery: Int = 0
    public var seed: UInt64?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case bits, activationBits = "activation_bits", clip, schedule, step1Steps = "step1_steps", step2Steps = "step2_steps"
        case lr, warmupRatio = "warmup_ratio", weightDecay = "weight_decay", batchSize = "batch_size", maxGradNorm = "max_grad_norm"
        case maxLength = "max_length", groundTruthWeight = "ground_truth_weight", seed
        case quantizeEmbeddingAndPooler = "quantize_embedding_and_pooler", evalEvery = "eval_every"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.passKeys(CodingKeys.self)
        try c.update(&bits, .bits)
        try c.update(&activationBits, .activationBits)
        try c.update(&clip, .clip)
        try c.update(&schedule, .schedule)
        try c.update(&step1Steps, .step1Steps)
        try c.update(&step2Steps, .step2Steps)
        try c.update(&lr, .lr)
        try c.update(&warmupRatio, .warmupRatio)
        try c.update(&weightDecay, .weightDecay)
        try c.update(&batchSize, .batchSize)
        try c.update(&maxGradNorm, .maxGradNorm)
        try c.update(&maxLength, .maxLength)
        try c.update(&groundTruthWeight, .groundTruthWeight)
        try c.update(&seed, .seed)
        try c.update(&quantizeEmbeddingAndPooler, .quantizeEmbeddingAndPooler)
        try c.update(&evalEvery, .evalEvery)
    }

    public func validate(path: String) throws {
        if let a = activationBits, !(2...8).contains(a) { throw PassError("\(path).activation_bits", "must be 2…8 or null (got \(a))") }
        guard clip > 0, clip.isFinite else { throw PassError("\(path).clip", "must be a positive number (got \(clip))") }
        guard step1Steps >= 0 else { throw PassError("\(path).step1_steps", "must be ≥ 0 (got \(step1Steps))") }
        guard step2Steps >= 0 else { throw PassError("\(path).step2_steps", "must be ≥ 0 (got \(step2Steps))") }
        guard step1Steps + step2Steps > 0 else { throw PassError("\(path).step1_steps", "step1_steps + step2_steps must be positive") }
        guard lr > 0, lr.isFinite else { throw PassError("\(path).lr", "must be a positive number (got \(lr))") }
        guard (0...1).contains(warmupRatio) else { throw PassError("\(path).warmup_ratio", "must be in [0, 1] (got \(warmupRatio))") }
        guard weightDecay >= 0 else { throw PassError("\(path).weight_decay", "must be ≥ 0 (got \(weightDecay))") }
        guard batchSize > 0 else { throw PassError("\(path).batch_size", "must be positive (got \(batchSize))") }
        if let m = maxGradNorm, !(m > 0) { throw PassError("\(path).max_grad_norm", "must be positive or null (got \(m))") }
        if let l = maxLength, l < 2 { throw PassError("\(path).max_length", "must be at least 2 (got \(l))") }
        guard evalEvery >= 0 else { throw PassError("\(path).eval_every", "must be ≥ 0 (got \(evalEvery))") }
        guard groundTruthWeight >= 0 else { throw PassError("\(path).ground_truth_weight", "must be ≥ 0 (got \(groundTruthWeight))") }
    }

    /// The student's fake quantization.
    public var quantization: StudentQuantization {
        let w = bits.quantizer(clip)
        var rows = w
        rows.granularity = .row
        return StudentQuantization(weights: w, activations: activationBits.map { .symmetric(bits: $0, .tensor, clip: clip) },
                                   tokenEmbedding: quantizeEmbeddingAndPooler ? rows : nil, pooler: quantizeEmbeddingAndPooler ? w : nil)
    }

    /// Trainer settings of one step of `steps` iterations (its own warm-up and linear decay).
    func settings(steps: Int) -> TrainerSettings {
        var s = TrainerSettings()
        s.steps = steps; s.lr = lr; s.decay = .linear; s.weightDecay = weightDecay; s.maxGradNorm = maxGradNorm
        s.warmupSteps = min(steps, Int((warmupRatio * Float(steps)).rounded()))
        return s
    }

    public func apply(to model: EditableCheckpoint, context: PassContext) throws -> PassReport {
        try validate(path: Self.kind)
        guard !context.training.isEmpty else {
            throw PassError(Self.kind, "needs training examples: add a \"training\" data section to the recipe")
        }
        let teacher = try TransformerModel.load(from: model)
        let student = try TrainableModel(try TransformerModel.load(from: model))
        let batcher: ExampleBatcher
        do {
            batcher = try ExampleBatcher(config: teacher.config, modelConfig: model.config, maxLength: maxLength, examples: context.training)
        } catch TrainingError.invalidExamples(let reason) {
            throw PassError(Self.kind, reason)
        }
        var objective = DistillationObjective()
        objective.groundTruth = groundTruthWeight
        let distiller = InterventionDistiller(teacher: teacher, objective: objective, quantization: quantization)
        let loader = DataLoader(context.training, batchSize: batchSize, seed: seed ?? context.seed)
        var rng = SeededGenerator(seed: (seed ?? context.seed) &+ 1)
        var curve: [Float] = [], used: [TeacherIntervention] = [], terms: [DistillationTerms] = []
        var accuracy: [(step: Int, value: Double)] = []
        let held = evalEvery > 0 && teacher.config.isClassifier ? context.calibration : []
        func evaluate() throws { if !held.isEmpty { accuracy.append((curve.count, try fakeQuantAccuracy(student.model, held, batcher))) } }
        try evaluate()
        context.progress.start("qat: \(step1Steps) + \(step2Steps) steps", step1Steps + step2Steps)
        for (phase, steps) in [(1, step1Steps), (2, step2Steps)] where steps > 0 {
            let trainer = try Trainer(model: student, settings: settings(steps: steps))
            let offset = curve.count
            var current = TeacherIntervention.none
            trainer.loss = { m, b, t in try distiller.loss(m, b, t, intervention: current) }
            while trainer.step < steps {
                current = phase == 1 ? schedule.intervention(step: trainer.step, of: steps, random: { Double.random(in: 0..<1, using: &rng) }) : .none
                let batch = try batcher.batch(loader.batch(step: offset + trainer.step))
                curve.append(try trainer.train([batch]))
                used.append(current); terms.append(distiller.lastTerms)
                context.progress.update(curve.count)
                if !held.isEmpty, curve.count % evalEvery == 0 || curve.count == step1Steps + step2Steps { try evaluate() }
            }
        }
        context.progress.finish()
        let changes = try writeQuantized(student, into: model)
        let first = Double(curve.first ?? 0), tail = curve.suffix(max(1, curve.count / 10))
        let last = Double(tail.reduce(0, +)) / Double(tail.count)
        let labels = curve.indices.map { String($0 + 1) }
        var metrics: [String: Double] = ["step1_steps": Double(step1Steps), "step2_steps": Double(step2Steps),
                                         "first_loss": first, "final_loss": last, "quantized_tensors": Double(changes.filter { $0.bitsPerWeight != nil }.count)]
        for i in [TeacherIntervention.output, .context, .map] { metrics["steps_ti_\(i.rawValue)"] = Double(used.filter { $0 == i }.count) }
        var series: [PassReport.Series] = []
        if let a = accuracy.last {
            metrics["fake_quant_accuracy_before"] = accuracy[0].value; metrics["fake_quant_accuracy"] = a.value
            series.append(.init(title: "Held-out accuracy of the fake-quantized student (\(held.count) examples)", xLabel: "step", yLabel: "accuracy",
                                labels: accuracy.map { String($0.step) }, values: accuracy.map(\.value)))
        }
        return PassReport(
            kind: Self.kind,
            summary: String(format: "QAT %@ weights, %@ activations: %d steps with %@ intervention + %d KD-QAT steps; distillation loss %.4f → %.4f",
                            bits.rawValue, activationBits.map { "\($0)-bit" } ?? "FP", step1Steps, schedule.rawValue, step2Steps, first, last),
            metrics: metrics,
            tensors: changes,
            series: series + [.init(title: "Distillation loss", xLabel: "step", yLabel: "loss", labels: labels, values: curve.map(Double.init)),
                     .init(title: "Distillation loss terms: pred", xLabel: "step", yLabel: "loss", labels: labels, values: terms.map { Double($0.prediction) }),
                     .init(title: "Distillation loss terms: rep + attn + out", xLabel: "step", yLabel: "loss", labels: labels,
                           values: terms.map { Double($0.hidden + $0.scores + $0.attentionOutput) })],
            notes: ["weights written as full-precision values on the \(quantization.weights!) grid (no packed layout yet)",
                    "activation fake quantization (\(activationBits.map { "\($0)-bit symmetric per tensor, clip ±\(clip)" } ?? "none")) is applied in training only; the written model runs its activations in full precision",
                    quantizeEmbeddingAndPooler ? "word embedding quantized per row and pooler per tensor with the weights' quantizer; the pooler's input is not quantized"
                                               : "the word embedding and the pooler stay full precision",
                    "no dropout during training; no data augmentation"])
    }

    /// Accuracy of the student with weights and activations fake-quantized, as trained: the eager
    /// forward with the quantization's options, the token table and pooler quantized for the
    /// duration (their full-precision values are restored).
    func fakeQuantAccuracy(_ model: TransformerModel, _ examples: [Example], _ batcher: ExampleBatcher) throws -> Double {
        let q = quantization
        let saved = q.parameterTransforms(model).map { ($0.0, $0.0.value) }
        defer { for (v, values) in saved { v.value = values } }
        for (v, _) in saved {
            let quantizer = v === model.embeddings.tokenParameter ? q.tokenEmbedding! : q.pooler!
            v.value.withUnsafeMutableBufferPointer { quantizer.fakeQuantizeForward($0.baseAddress!, $0.baseAddress!, rows: v.shape[0], cols: v.shape[1]) }
        }
        var correct = 0
        for start in stride(from: 0, to: examples.count, by: 32) {
            let b = try batcher.batch(Array(examples[start..<min(examples.count, start + 32)]))
            let out = try model.forward(b.input, options: q.options)
            let c = out.shape.last!
            for (i, label) in b.targets.enumerated() {
                let row = out.logits[(i * c)..<((i + 1) * c)]
                if let best = row.indices.max(by: { row[$0] < row[$1] }), best - i * c == Int(label) { correct += 1 }
            }
        }
        return Double(correct) / Double(examples.count)
    }

    /// Quantizes every block projection's weight in place (its own tensor: a fused projection's
    /// parts get one scale each) and writes every trained parameter with its stored dtype.
    func writeQuantized(_ trainable: TrainableModel, into model: EditableCheckpoint) throws -> [PassReport.TensorChange] {
        let q = quantization.weights!
        var quantized: [String: Quantizer] = [:]
        for (v, _) in quantization.parameterTransforms(trainable.model) {
            let quantizer = v === trainable.model.embeddings.tokenParameter ? quantization.tokenEmbedding! : quantization.pooler!
            v.value.withUnsafeMutableBufferPointer { p in
                quantizer.fakeQuantizeForward(p.baseAddress!, p.baseAddress!, rows: v.shape[0], cols: v.shape[1])
            }
            quantized[v.name] = quantizer
        }
        for layer in trainable.model.layers {
            for (role, l) in layer.linears {
                guard let l = l as? Linear else { continue }
                let w = l.weightParameter
                w.value.withUnsafeMutableBufferPointer { p in
                    q.fakeQuantizeForward(p.baseAddress!, p.baseAddress!, rows: w.shape[0], cols: w.shape[1])
                }
                if let location = trainable.model.layout.linear(role, layer: layer.index) { quantized[location.name + ".weight"] = q }
            }
        }
        var changes: [PassReport.TensorChange] = []
        for t in trainable.model.namedTensors() {
            guard let spec = model.spec(t.name), spec.shape == t.shape else {
                throw PassError(Self.kind, "trained tensor '\(t.name)' \(t.shape) does not match the checkpoint")
            }
            model.set(t.name, Tensor(floats: t.values, shape: t.shape, dtype: spec.dtype))
            let used = quantized[t.name]
            changes.append(.init(name: t.name, before: "\(spec.dtype) \(spec.shape)",
                                 after: "\(spec.dtype) \(spec.shape) " + (used.map { "(\($0) values)" } ?? "(trained)"),
                                 bitsPerWeight: used.map { Double($0.bits) }))
        }
        return changes
    }
}
