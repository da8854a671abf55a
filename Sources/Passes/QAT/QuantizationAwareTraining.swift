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
    /// One weight scale per tensor (TI, TernaryBERT: "layer-wise") or per output row (`row`); the word
    /// embedding is always per row.
    public var weightGranularity: Quantizer.Granularity = .tensor
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
        case bits, weightGranularity = "weight_granularity", activationBits = "activation_bits", clip, schedule, step1Steps = "step1_steps", step2Steps = "step2_steps"
        case lr, warmupRatio = "warmup_ratio", weightDecay = "weight_decay", batchSize = "batch_size", maxGradNorm = "max_grad_norm"
        case maxLength = "max_length", groundTruthWeight = "ground_truth_weight", seed
        case quantizeEmbeddingAndPooler = "quantize_embedding_and_pooler", evalEvery = "eval_every"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.passKeys(CodingKeys.self)
        try c.update(&bits, .bits)
        try c.update(&weightGranularity, .weightGranularity)
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
        guard weightGranularity != .token else { throw PassError("\(path).weight_granularity", "must be \"tensor\" or \"row\" (got \"token\")") }
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
        var w = bits.quantizer(clip)
        w.granularity = weightGranularity
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
        let targets = Set(try quantizedTargets(student.model).map { ObjectIdentifier($0.variable) })   // checks the export is possible first
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
        var resumedAt: [String] = []
        for (phase, steps) in [(1, step1Steps), (2, step2Steps)] where steps > 0 {
            let trainer = try Trainer(model: student, settings: settings(steps: steps))
            let offset = phase == 1 ? 0 : step1Steps
            var current = TeacherIntervention.none
            trainer.loss = { m, b, t in try distiller.loss(m, b, t, intervention: current) }
            // Resume (`--resume`): each step of the schedule is its own run (own optimizer); its checkpoint
            // carries the whole pass's curves so far and the intervention sampler's state.
            trainer.loopState = (save: {
                try WorkLedger.encoder.encode(LoopState(curve: curve, used: used, terms: terms, accuracySteps: accuracy.map(\.step),
                                                   accuracy: accuracy.map(\.value), random: rng.state))
            }, restore: {
                let s = try WorkLedger.decoder.decode(LoopState.self, from: $0)
                curve = s.curve; used = s.used; terms = s.terms; rng = SeededGenerator(seed: s.random)
                accuracy = zip(s.accuracySteps, s.accuracy).map { ($0, $1) }
            })
            try trainer.run(batch: { step in
                current = phase == 1 ? schedule.intervention(step: step, of: steps, random: { Double.random(in: 0..<1, using: &rng) }) : .none
                return try batcher.batch(loader.batch(step: offset + step))
            }, checkpoint: context.trainingCheckpoint(run: "step\(phase)"), progress: { _, loss in
                curve.append(loss)
                used.append(current); terms.append(distiller.lastTerms)
                context.progress.update(curve.count)
                if !held.isEmpty, curve.count % evalEvery == 0, curve.count < step1Steps + step2Steps { try evaluate() }
                context.ledger.afterStep?(curve.count)
            })
            if let r = trainer.resumedAt { resumedAt.append("step \(phase) at \(r) of \(steps)") }
        }
        context.progress.finish()
        // What is evaluated last is what is written: float tensors rounded to their stored dtype.
        roundToStoredDTypes(student.model, checkpoint: model, except: targets)
        try evaluate()
        let changes = try writePacked(student, into: model)
        // The written model as it runs (packed kernels), and dequantized (the training arithmetic).
        var exported: (kernels: Double, dequantized: Double)?
        if !held.isEmpty {
            exported = (try heldOutAccuracy(try TransformerModel.loadCompressed(from: model), held, batcher, options: ForwardOptions()),
                        try heldOutAccuracy(try TransformerModel.loadCompressed(from: model, packedKernels: false), held, batcher, options: ForwardOptions()))
        }
        let first = Double(curve.first ?? 0), tail = curve.suffix(max(1, curve.count / 10))
        let last = Double(tail.reduce(0, +)) / Double(tail.count)
        let labels = curve.indices.map { String($0 + 1) }
        var metrics: [String: Double] = ["step1_steps": Double(step1Steps), "step2_steps": Double(step2Steps),
                                         "first_loss": first, "final_loss": last, "quantized_tensors": Double(changes.filter { $0.bitsPerWeight != nil }.count)]
        for i in [TeacherIntervention.output, .context, .map] { metrics["steps_ti_\(i.rawValue)"] = Double(used.filter { $0 == i }.count) }
        var series: [PassReport.Series] = []
        if let a = accuracy.last {
            metrics["fake_quant_accuracy_before"] = accuracy[0].value; metrics["fake_quant_accuracy"] = a.value
            if let exported { metrics["exported_accuracy"] = exported.kernels; metrics["exported_accuracy_dequantized"] = exported.dequantized }
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
            notes: [bits == .eight ? "8-bit weights written in the compressed-tensors int8 layout (per-tensor scale repeated per row)"
                                   : "weights written packed (\(quantization.weights!), \(PackedLayout.fieldBits(quantization.weights!)!) bits per weight, whittle.quantization)",
                    "activation quantization (\(activationBits.map { "\($0)-bit symmetric per tensor, clip ±\(clip)" } ?? "none")) is recorded in whittle.quantization and applied by loadCompressed, as in training",
                    quantizeEmbeddingAndPooler ? "word embedding quantized per row and pooler per tensor with the weights' quantizer; the pooler's input is not quantized"
                                               : "the word embedding and the pooler stay full precision",
                    "no dropout during training; no data augmentation"]
                + (resumedAt.isEmpty ? [] : ["resumed from the training state a killed run saved (" + resumedAt.joined(separator: ", ") + ")"]))
    }

    /// What a QAT checkpoint carries besides the trainer's state (`Trainer.loopState`).
    struct LoopState: Codable {
        var curve: [Float]
        var used: [TeacherIntervention]
        var terms: [DistillationTerms]
        var accuracySteps: [Int]
        var accuracy: [Double]
        var random: UInt64
    }

    /// Accuracy of the student with weights and activations fake-quantized, as trained: the eager
    /// forward with the quantization's options, the token table and pooler quantized for the
    /// duration (their full-precision values are restored).
    func fakeQuantAccuracy(_ model: TransformerModel, _ examples: [Example], _ batcher: ExampleBatcher) throws -> Double {
        try withFakeQuantizedTables(model) { try heldOutAccuracy(model, examples, batcher, options: quantization.options) }
    }

    /// Runs `body` with the token table and pooler fake-quantized (restored after); with
    /// `quantization.options` on each forward, this is the student as trained.
    func withFakeQuantizedTables<R>(_ model: TransformerModel, _ body: () throws -> R) rethrows -> R {
        let q = quantization
        let saved = q.parameterTransforms(model).map { ($0.0, $0.0.value) }
        defer { for (v, values) in saved { v.value = values } }
        for (v, _) in saved {
            let quantizer = v === model.embeddings.tokenParameter ? q.tokenEmbedding! : q.pooler!
            v.value.withUnsafeMutableBufferPointer { quantizer.fakeQuantizeForward($0.baseAddress!, $0.baseAddress!, rows: v.shape[0], cols: v.shape[1]) }
        }
        return try body()
    }

    /// Accuracy of `model` run with `options` on labeled examples, in batches of 32.
    func heldOutAccuracy(_ model: TransformerModel, _ examples: [Example], _ batcher: ExampleBatcher, options: ForwardOptions) throws -> Double {
        var correct = 0
        for start in stride(from: 0, to: examples.count, by: 32) {
            let b = try batcher.batch(Array(examples[start..<min(examples.count, start + 32)]))
            let out = try model.forward(b.input, options: options)
            let c = out.shape.last!
            for (i, label) in b.targets.enumerated() {
                let row = out.logits[(i * c)..<((i + 1) * c)]
                if let best = row.indices.max(by: { row[$0] < row[$1] }), best - i * c == Int(label) { correct += 1 }
            }
        }
        return Double(correct) / Double(examples.count)
    }

    /// The quantized tensors of the student and their quantizers: every block projection (unfused,
    /// `[out, in]` as stored), and the word embedding (per row) and pooler when they are quantized.
    func quantizedTargets(_ model: TransformerModel) throws -> [(variable: Variable, quantizer: Quantizer)] {
        var out: [(Variable, Quantizer)] = quantization.parameterTransforms(model).map { v, _ in
            (v, v === model.embeddings.tokenParameter ? quantization.tokenEmbedding! : quantization.pooler!)
        }
        for layer in model.layers {
            for (role, l) in layer.linears {
                guard let l = l as? Linear, let location = model.layout.linear(role, layer: layer.index) else { continue }
                guard !location.transposed, location.part == nil else {
                    throw PassError(Self.kind, "the packed export needs unfused [out, in] projections; \(location.name) is a fused or Conv1D weight (GPT-2)")
                }
                out.append((l.weightParameter, quantization.weights!))
            }
        }
        return out
    }

    /// Rounds every trained tensor that stays in float to its stored dtype, in the model: what is
    /// evaluated last is then exactly what is written.
    func roundToStoredDTypes(_ model: TransformerModel, checkpoint: EditableCheckpoint, except quantized: Set<ObjectIdentifier>) {
        for v in model.parameters() where !quantized.contains(ObjectIdentifier(v)) {
            guard let dtype = checkpoint.spec(v.name)?.dtype, dtype != .F32 else { continue }
            v.value = Tensor(floats: v.value, shape: v.shape, dtype: dtype).floats()
        }
    }

    /// Writes the student (docs/ARCHITECTURE.md "Packed low-bit weights"): ternary, 2- and 4-bit weights
    /// packed (`PackedLayout`), 8-bit ones in the compressed-tensors int8 layout (`Int8Layout`, the
    /// per-tensor scale repeated per row), each from the codes the fake-quant forward rounds to; the other
    /// trained tensors with their stored dtype; and `whittle.quantization` (weights' quantizers, the
    /// activation quantization and its sites) so `loadCompressed` runs the student as trained.
    func writePacked(_ trainable: TrainableModel, into model: EditableCheckpoint) throws -> [PassReport.TensorChange] {
        let targets = try quantizedTargets(trainable.model)
        var changes: [PassReport.TensorChange] = [], entries: [String: QuantizationSettings.Weight] = [:]
        for (v, q) in targets {
            guard let spec = model.spec(v.name), spec.shape == v.shape, v.shape.count == 2 else {
                throw PassError(Self.kind, "trained tensor '\(v.name)' \(v.shape) does not match the checkpoint")
            }
            let codes = v.value.withUnsafeBufferPointer { q.quantize($0.baseAddress!, rows: v.shape[0], cols: v.shape[1]) }
            let tensors: [String: Tensor]
            if bits == .eight {
                let scales = q.granularity == .tensor ? [Float](repeating: codes.scales[0], count: codes.rows) : codes.scales
                tensors = Int8Layout.tensors(weight: v.name, q: codes.codes.map { Int8($0) }, scale: scales, scaleDType: .F32, shape: v.shape)
            } else {
                tensors = PackedLayout.tensors(weight: v.name, codes)
            }
            for (name, t) in tensors.sorted(by: { $0.key < $1.key }) { model.set(name, t) }
            entries[v.name] = .init(quantizer: q, shape: v.shape)
            let stored = tensors[v.name]!
            changes.append(.init(name: v.name, before: "\(spec.dtype) \(spec.shape)", after: "\(stored.dtype) \(stored.shape) (\(q) codes)",
                                 bitsPerWeight: Double(stored.byteCount * 8) / Double(v.count)))
        }
        let quantized = Set(targets.map { $0.variable.name })
        for t in trainable.model.namedTensors() where !quantized.contains(t.name) {
            guard let spec = model.spec(t.name), spec.shape == t.shape else {
                throw PassError(Self.kind, "trained tensor '\(t.name)' \(t.shape) does not match the checkpoint")
            }
            model.set(t.name, Tensor(floats: t.values, shape: t.shape, dtype: spec.dtype))
            changes.append(.init(name: t.name, before: "\(spec.dtype) \(spec.shape)", after: "\(spec.dtype) \(spec.shape) (trained)", bitsPerWeight: nil))
        }
        var whittle = try WhittleConfig.read(from: model.config)
        let sites = quantization.activations == nil ? [] : StudentQuantization.linearInputs.union(StudentQuantization.attentionValues)
        whittle.quantization = QuantizationSettings(format: bits == .eight ? QuantizationSettings.int8Format : QuantizationSettings.packedFormat,
                                                    weights: entries, activations: quantization.activations,
                                                    activationSites: CapturePoint.allCases.filter { sites.contains($0) })
        model.config["whittle"] = whittle.jsonObject
        if bits == .eight {
            // compressed-tensors targets every nn.Linear: the ones left in float are listed.
            let ignore = trainable.model.namedTensors().map(\.name)
                .filter { $0.hasSuffix(".weight") && !quantized.contains($0) && model.spec($0)?.shape.count == 2 }
                .map { String($0.dropLast(".weight".count)) }.filter { !TensorTargets.isEmbedding($0) }
            model.config["quantization_config"] = Int8Layout.quantizationConfig(ignore: ignore)
        }
        return changes
    }
}
