import Foundation
import Checkpoints
import Datasets
import Evaluation
import Models
import Training

/// Pass `distill_step_by_step` (Hsieh et al., Findings of ACL 2023; ALGORITHMS.md §6): a small decoder
/// student learns the labels and the teacher's rationales as two tasks, "predict: x → label" and
/// "explain: x → rationale", with L = α·CE(label) + (1 − α)·CE(rationale), loss on the target tokens only.
/// The student is the pass's input model (after earlier passes: `finercut` → `distill_step_by_step`), or
/// the `student` checkpoint. For comparison the same pass trains the baselines — `label_only` (standard
/// fine-tuning on the gold labels) and `standard_distillation` (on the teacher's labels) — on each
/// `fractions` of the training data with the same step budget, and scores every run on the test split by
/// greedy decoding of the label. The model written is DSS trained on the largest fraction.
public struct DistillStepByStep: Pass, Equatable {
    public static let kind = "distill_step_by_step"
    public static var category: PassCategory { .training }
    public var needs: PassNeeds { .rationales }

    public enum Baseline: String, Codable, Sendable, CaseIterable {
        case labelOnly = "label_only", standardDistillation = "standard_distillation"
    }
    /// Which labels DSS trains on: the gold ones, or the teacher's (the reference's `--label_type llm`).
    public enum LabelSource: String, Codable, Sendable { case groundTruth = "ground_truth", teacher }
    public enum EvalSplit: String, Codable, Sendable { case test, validation }

    /// Weight of the label task (§6.1: 0.5).
    public var alpha: Float = 0.5
    public var labelPrefix = "predict: "
    public var rationalePrefix = "explain: "
    /// Ends every prompt (between the input and the target).
    public var separator = "\n"
    public var labelSource: LabelSource = .groundTruth
    public var baselines: [Baseline] = []
    /// Fractions of the training split each method is trained on (the paper's data-size curves).
    public var fractions: [Double] = [1]
    /// Target tokens kept (§6.1: 256); the prompt is truncated to the shared `max_length`.
    public var maxTargetLength = 256
    /// Greedy decoding budget at evaluation (§6.1: 64).
    public var maxNewTokens = 64
    public var evalSplit: EvalSplit = .test
    /// Score only the first N evaluation examples (nil: all).
    public var evalExamples: Int?
    /// Rationales the DSS student generates for the report ("explain: " prompts of the first test examples).
    public var reportRationales = 3
    /// A checkpoint folder to start the student from instead of the pass's input model (absolute, or
    /// relative to the working directory); it must share the input model's tokenizer.
    public var student: String?
    /// The shared training keys (`finetune`'s), with §6.1's lr 5e-5.
    public var training = DistillStepByStep.trainingDefaults

    static var trainingDefaults: FineTuning {
        var t = FineTuning()
        t.lr = 5e-5; t.batchSize = 8
        return t
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case alpha, labelPrefix = "label_prefix", rationalePrefix = "rationale_prefix", separator
        case labelSource = "label_source", baselines, fractions, maxTargetLength = "max_target_length"
        case maxNewTokens = "max_new_tokens", evalSplit = "eval_split", evalExamples = "eval_examples"
        case reportRationales = "report_rationales", student
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try attentionPassKeys(decoder, CodingKeys.self)
        try c.update(&alpha, .alpha)
        try c.update(&labelPrefix, .labelPrefix)
        try c.update(&rationalePrefix, .rationalePrefix)
        try c.update(&separator, .separator)
        try c.update(&labelSource, .labelSource)
        try c.update(&baselines, .baselines)
        try c.update(&fractions, .fractions)
        try c.update(&maxTargetLength, .maxTargetLength)
        try c.update(&maxNewTokens, .maxNewTokens)
        try c.update(&evalSplit, .evalSplit)
        try c.update(&evalExamples, .evalExamples)
        try c.update(&reportRationales, .reportRationales)
        try c.update(&student, .student)
        try training.update(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(labelPrefix, forKey: .labelPrefix)
        try c.encode(rationalePrefix, forKey: .rationalePrefix)
        try c.encode(separator, forKey: .separator)
        try c.encode(labelSource, forKey: .labelSource)
        try c.encode(baselines, forKey: .baselines)
        try c.encode(fractions, forKey: .fractions)
        try c.encode(maxTargetLength, forKey: .maxTargetLength)
        try c.encode(maxNewTokens, forKey: .maxNewTokens)
        try c.encode(evalSplit, forKey: .evalSplit)
        try c.encodeIfPresent(evalExamples, forKey: .evalExamples)
        try c.encode(reportRationales, forKey: .reportRationales)
        try c.encodeIfPresent(student, forKey: .student)
        try training.encodeTrainingKeys(to: encoder)
    }

    public func validate(path: String) throws {
        guard (0...1).contains(alpha) else { throw PassError("\(path).alpha", "must be in [0, 1] (got \(alpha))") }
        guard !fractions.isEmpty, fractions.allSatisfy({ $0 > 0 && $0 <= 1 }) else {
            throw PassError("\(path).fractions", "must be a non-empty list of fractions in (0, 1] (got \(fractions))")
        }
        guard maxTargetLength >= 1 else { throw PassError("\(path).max_target_length", "must be positive (got \(maxTargetLength))") }
        guard maxNewTokens >= 1 else { throw PassError("\(path).max_new_tokens", "must be positive (got \(maxNewTokens))") }
        if let n = evalExamples, n < 1 { throw PassError("\(path).eval_examples", "must be positive (got \(n))") }
        guard reportRationales >= 0 else { throw PassError("\(path).report_rationales", "must be ≥ 0 (got \(reportRationales))") }
        guard Set(baselines).count == baselines.count else { throw PassError("\(path).baselines", "lists a baseline twice") }
        try training.validate(path: path)
    }

    /// A trained method: DSS or a baseline.
    public enum Method: String, Sendable { case dss, labelOnly = "label_only", standardDistillation = "standard_distillation" }

    public func apply(to model: EditableCheckpoint, context: PassContext) throws -> PassReport {
        try validate(path: Self.kind)
        guard let data = context.rationales else {
            throw PassError(Self.kind, "needs rationale data: a \"training\" section whose data is a rationale folder (…/distill/svamp, …/distill/cqa) or a JSONL file with input, label, rationale")
        }
        guard let tokenizer = context.tokenizer else {
            throw PassError(Self.kind, "needs the model's tokenizer (tokenizer.json in the model folder) to encode and decode text")
        }
        if let student { try replaceWithStudent(model, path: student) }
        let config = try ModelConfig.from(json: model.config)
        guard config.isCausalLM else { throw PassError(Self.kind, "the student must be a causal language model (got \(config.architecture))") }
        guard let eos = tokenizer.endOfSequenceID ?? (model.config["eos_token_id"] as? Int).map(Int32.init) else {
            throw PassError(Self.kind, "the tokenizer has no end-of-sequence token (targets end with it and generation stops at it)")
        }
        let codec = TaskCodec(tokenizer: tokenizer, eos: eos, maxPrompt: training.maxLength ?? config.maxPositions / 2,
                              maxTarget: maxTargetLength, separator: separator)
        var evaluation = evalSplit == .test && !data.test.isEmpty ? data.test : data.validation
        if let n = evalExamples { evaluation = Array(evaluation.prefix(n)) }
        guard !evaluation.isEmpty else { throw PassError("\(Self.kind).eval_split", "the \(evalSplit.rawValue) split has no examples") }
        let padId = model.config["pad_token_id"] as? Int ?? Int(eos)
        let settings = training.settings(examples: data.train.count)   // one budget for every method and fraction
        let methods: [Method] = [.dss] + baselines.map { Method(rawValue: $0.rawValue)! }
        let fractions = self.fractions.sorted()
        var results: [Method: [Double]] = [:]
        var curves: [String: [Float]] = [:]
        var kept: TrainableModel?
        let runs = methods.count * fractions.count
        var resumed: [String] = []
        for (f, fraction) in fractions.enumerated() {
            let subset = data.trainingSubset(fraction: fraction, seed: training.seed ?? context.seed)
            for (m, method) in methods.enumerated() {
                // Resume (`--resume`): a finished run's result is item `run` of the pass's ledger step (its
                // training state is dropped, except the written model's); a run in progress continues from
                // its checkpoint (`<step>.run<i>.training.safetensors`).
                let run = f * methods.count + m, isKept = method == .dss && f == fractions.count - 1
                var result = try context.ledger.item(context.step, run, as: RunResult.self)
                if result == nil || isKept {
                    let trainable = try TrainableModel(try TransformerModel.load(from: model))
                    let checkpoint = context.trainingCheckpoint(run: "run\(run)")
                    let label = "distill_step_by_step run \(run + 1)/\(runs) (\(method.rawValue), \(fraction * 100)% of the data): steps"
                    let trained = try context.progress.stage(label, total: settings.steps) { update in
                        try train(trainable, method: method, examples: subset, codec: codec, padId: padId, settings: settings,
                                  seed: training.seed ?? context.seed, checkpoint: checkpoint) { step in
                            update(step)
                            context.ledger.afterStep?(run * settings.steps + step)
                        }
                    }
                    if let at = trained.resumedAt { resumed.append("\(method.rawValue)@\(fraction) at step \(at)") }
                    if result == nil {
                        let answers = try generate(trainable.model, inputs: evaluation.map(\.input), prefix: method == .dss ? labelPrefix : "", codec: codec)
                        let correct = zip(answers, evaluation).filter { labelCorrect($0, $1.label, task: data.task) }.count
                        result = RunResult(curve: trained.curve, accuracy: Double(correct) / Double(evaluation.count))
                        try context.ledger.record(context.step, run, result!, saveNow: true)
                    }
                    if isKept { kept = trainable } else if let checkpoint { try? FileManager.default.removeItem(atPath: checkpoint.path) }
                } else {
                    resumed.append("\(method.rawValue)@\(fraction) finished")
                }
                curves["\(method.rawValue)@\(fraction)"] = result!.curve
                results[method, default: []].append(result!.accuracy)
            }
        }
        let dss = kept!
        let examples = Array(evaluation.prefix(reportRationales))
        let rationales = try generate(dss.model, inputs: examples.map(\.input), prefix: rationalePrefix, codec: codec, budget: maxTargetLength)
        let predicted = try generate(dss.model, inputs: examples.map(\.input), prefix: labelPrefix, codec: codec)
        let changes = try training.writeBack(dss, into: model)
        var r = report(data: data, methods: methods, fractions: fractions, results: results, curves: curves, settings: settings,
                       evaluated: evaluation.count, examples: zip(examples, zip(rationales, predicted)).map { ($0, $1.0, $1.1) },
                       changes: changes)
        if !resumed.isEmpty { r.notes.append("resumed from the progress a killed run saved: " + resumed.joined(separator: ", ")) }
        return r
    }

    /// One finished run: its loss curve and test accuracy (a work item of the pass, for resume).
    struct RunResult: Codable {
        var curve: [Float]
        var accuracy: Double
    }

    /// Trains one method for `settings.steps` steps on `examples` (resuming from `checkpoint` when it
    /// exists); returns the loss curve and the step it resumed at.
    func train(_ trainable: TrainableModel, method: Method, examples: [RationaleExample], codec: TaskCodec, padId: Int,
               settings: TrainerSettings, seed: UInt64, checkpoint: TrainingCheckpoint? = nil,
               afterStep: (Int) -> Void = { _ in }) throws -> (curve: [Float], resumedAt: Int?) {
        let trainer = try Trainer(model: trainable, settings: settings)
        let encoded = try examples.map { e -> (label: PromptTarget, rationale: PromptTarget) in
            switch method {
            case .dss:
                let label = labelSource == .teacher ? e.teacherLabel : e.label
                return (try codec.pair(labelPrefix, e.input, label), try codec.pair(rationalePrefix, e.input, e.rationale))
            case .labelOnly:
                let p = try codec.pair("", e.input, e.label)
                return (p, p)
            case .standardDistillation:
                let p = try codec.pair("", e.input, e.teacherLabel)
                return (p, p)
            }
        }
        let loader = DataLoader(encoded, batchSize: training.batchSize, seed: seed)
        if method == .dss { trainer.loss = { [alpha] in try multiTaskLoss($0, $1, $2, alpha: alpha) } }
        try trainer.run(batch: { step in
            let b = loader.batch(step: step)
            return method == .dss ? multiTaskBatch(labels: b.map(\.label), rationales: b.map(\.rationale), padId: padId)
                                  : promptTargetBatch(b.map(\.label), padId: padId)
        }, checkpoint: checkpoint, progress: { step, _ in afterStep(step) })
        return (trainer.lossCurve, trainer.resumedAt)
    }

    /// Greedy continuations of `prefix + input + separator`, decoded.
    func generate(_ model: TransformerModel, inputs: [String], prefix: String, codec: TaskCodec, budget: Int? = nil) throws -> [String] {
        let prompts = try inputs.map { try codec.prompt(prefix, $0) }
        let ids = try greedyGenerate(model: model, prompts: prompts, maxNewTokens: budget ?? maxNewTokens, eos: codec.eos)
        return ids.map { codec.tokenizer.decodeIDs($0).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Replaces the checkpoint's tensors and config by the `student` checkpoint's.
    func replaceWithStudent(_ model: EditableCheckpoint, path: String) throws {
        let source: Checkpoint
        do { source = try Checkpoint(path: path) } catch {
            throw PassError("\(Self.kind).student", "\(path): cannot load the student checkpoint (\(error))")
        }
        for name in model.names { model.remove(name) }
        for name in source.names { model.set(name, try source.tensor(name)) }
        model.config = source.config
    }
}

/// Turns task texts into prompt + target token sequences for one tokenizer.
struct TaskCodec {
    let tokenizer: TextDecoding
    let eos: Int32
    let maxPrompt: Int
    let maxTarget: Int
    let separator: String

    /// `prefix + input + separator`, truncated to `maxPrompt` tokens keeping the start (the reference truncates inputs).
    func prompt(_ prefix: String, _ input: String) throws -> [Int32] {
        Array(try tokenizer.encodeIDs(prefix + input + separator, addSpecialTokens: false).prefix(maxPrompt))
    }

    /// The prompt and the target + EOS (target truncated to `maxTarget` tokens before the EOS).
    func pair(_ prefix: String, _ input: String, _ target: String) throws -> PromptTarget {
        PromptTarget(prompt: try prompt(prefix, input),
                     target: Array(try tokenizer.encodeIDs(target, addSpecialTokens: false).prefix(maxTarget)) + [eos])
    }
}
