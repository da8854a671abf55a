import Checkpoints
import Datasets
import Models
import Training

/// What a pass needs from the pipeline besides the model.
public struct PassNeeds: OptionSet, Sendable, Codable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let calibration = PassNeeds(rawValue: 1)
    public static let teacher = PassNeeds(rawValue: 2)
    public static let training = PassNeeds(rawValue: 4)
    /// Rationale data (input, label, teacher rationale) read from the recipe's `training` section, and the
    /// model's tokenizer (`distill_step_by_step`).
    public static let rationales = PassNeeds(rawValue: 8)
}

/// What a pass does, for whole-recipe order checks (pruning before quantization of the same tensors).
public enum PassCategory: String, Codable, Sendable {
    case pruning, quantization, training, architecture, other
}

/// A compression pass (docs/ARCHITECTURE.md "Passes"): a Codable struct whose stored properties are its recipe keys,
/// validated before any work, with one `apply` that changes the model and returns a report.
/// Passes never print and never touch files; progress goes through the context.
/// Every key has a default, written once as the property's initial value: `init()` gives the pass with all
/// defaults, and decoding starts from it (PassDecoding.swift).
public protocol Pass: Codable, Sendable {
    /// The pass with every recipe key at its default.
    init()
    /// The recipe's `"pass"` value, e.g. `"nf4"`.
    static var kind: String { get }
    static var category: PassCategory { get }
    var needs: PassNeeds { get }
    /// Checks parameter values; errors name `path` (e.g. `passes[1]`) and the key.
    func validate(path: String) throws
    func apply(to model: EditableCheckpoint, context: PassContext) throws -> PassReport
    /// Whether `apply` splits its expensive part into independent items through `context.ledger`
    /// (so `compress --shard` can run a slice of it, and `--resume` can skip what was saved).
    var splitsIntoWorkItems: Bool { get }
}

extension Pass {
    /// The defaults of every recipe key (`Self()`), for default arguments of convenience initialisers.
    public static var defaults: Self { Self() }
    public static var category: PassCategory { .other }
    public var needs: PassNeeds { [] }
    public var splitsIntoWorkItems: Bool { false }
    public var kind: String { Self.kind }
}

/// Data and services a pass may use.
public struct PassContext {
    /// Calibration examples (already tokenized), when the pass needs them.
    public var calibration: [Example]
    /// Training examples, when the pass trains.
    public var training: [Example]
    /// The unmodified input model, for passes that distil from a teacher.
    public var teacher: TensorStore?
    /// Rationale data, when a pass needs it (`PassNeeds.rationales`).
    public var rationales: RationaleData?
    /// The model folder's tokenizer, for passes that encode and decode text.
    public var tokenizer: TextDecoding?
    public var progress: ProgressReporter
    public var seed: UInt64
    /// Work items done elsewhere (other shards, saved progress) and the slice this process computes.
    public var ledger = WorkLedger()
    /// This pass's key in the ledger (the pipeline sets `passes[i]`).
    public var step = "pass"
    /// A folder of the run's temporary output where a training pass keeps its resumable state
    /// (`<step>.training.safetensors`, every `ledger.saveEvery` steps); the pipeline owns it and checks
    /// its fingerprint before `--resume` uses it. Nil: no saved state.
    public var progressFolder: String?

    /// Where training run `run` of this pass (nil: its only run) keeps its resumable state
    /// (`<step>[.<run>].training.safetensors`, saved every `ledger.saveEvery` steps), when the run keeps progress.
    public func trainingCheckpoint(run: String? = nil) -> TrainingCheckpoint? {
        progressFolder.map { TrainingCheckpoint(path: $0 + "/" + step + (run.map { "." + $0 } ?? "") + ".training.safetensors", every: ledger.saveEvery) }
    }

    public init(calibration: [Example] = [], training: [Example] = [], teacher: TensorStore? = nil,
                progress: ProgressReporter = .silent, seed: UInt64 = 0) {
        self.calibration = calibration
        self.training = training
        self.teacher = teacher
        self.progress = progress
        self.seed = seed
    }
}

/// Errors in pass parameters or preconditions, naming the recipe path.
public struct PassError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let message: String
    public init(_ path: String, _ message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

/// What `--dry-run` shows for one pass: which tensors it changes and the expected output size.
public struct PassPlan: Sendable, Equatable {
    public var touchedTensors: [String]
    /// Bytes of the touched tensors after the pass (nil when unknown before running).
    public var outputBytes: Int?
    public var notes: [String]
    public init(touchedTensors: [String] = [], outputBytes: Int? = nil, notes: [String] = []) {
        self.touchedTensors = touchedTensors; self.outputBytes = outputBytes; self.notes = notes
    }
}

/// Passes that can say what they will do before doing it conform (used by `--dry-run`).
public protocol PlannablePass: Pass {
    func plan(for model: TensorStore) throws -> PassPlan
}
