import Foundation
import Checkpoints
import Kernels
import Models
import Tensors

/// Pass `nf4` (QLoRA, ALGORITHMS.md §5): blockwise NF4 weights with optional double quantization,
/// written in the bitsandbytes serialization with `quantization_config` so transformers +
/// bitsandbytes load the output (DESIGN.md §4). Weight-only and streaming: each weight is quantized
/// once, when the writer asks for it, one at a time, straight from the memory map; its reconstruction
/// error is measured in the same read and reaches the report through `PassReport.completed()`.
public struct NF4Quantization: Pass, Equatable {
    public static let kind = "nf4"
    public static let category = PassCategory.quantization
    public var blockSize: Int = 64
    public var doubleQuant: Bool = true
    public var targets: [String] = TensorTargets.defaultTargets
    public var ignore: [String] = []
    /// `bnb_4bit_compute_dtype` recorded for loaders: "float32", "bfloat16" or "float16".
    public var computeDType: String = "float32"

    enum CodingKeys: String, CodingKey, CaseIterable {
        case blockSize = "block_size", doubleQuant = "double_quant", targets, ignore, computeDType = "compute_dtype"
    }

    public init() {}

    public init(blockSize: Int = defaults.blockSize, doubleQuant: Bool = defaults.doubleQuant,
                targets: [String] = defaults.targets, ignore: [String] = defaults.ignore,
                computeDType: String = defaults.computeDType) {
        self.blockSize = blockSize; self.doubleQuant = doubleQuant; self.targets = targets
        self.ignore = ignore; self.computeDType = computeDType
    }

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.passKeys(CodingKeys.self)
        try c.update(&blockSize, .blockSize)
        try c.update(&doubleQuant, .doubleQuant)
        try c.update(&targets, .targets)
        try c.update(&ignore, .ignore)
        try c.update(&computeDType, .computeDType)
    }

    var selector: TensorTargets { TensorTargets(targets: targets, ignore: ignore) }

    public func validate(path: String) throws {
        guard NF4.validBlockSizes.contains(blockSize) else {
            throw PassError("\(path).block_size", "must be a power of two from 32 to 4096 (got \(blockSize))")
        }
        guard ["float32", "bfloat16", "float16"].contains(computeDType) else {
            throw PassError("\(path).compute_dtype", "must be \"float32\", \"bfloat16\" or \"float16\" (got \"\(computeDType)\")")
        }
        try selector.validate(path: path)
    }

    public func apply(to model: EditableCheckpoint, context: PassContext) throws -> PassReport {
        try validate(path: Self.kind)
        let untied = try selector.untieTargetedHead(in: model, pass: Self.kind)
        let selected = selector.selected(in: model)
        guard !selected.isEmpty else {
            throw PassError(Self.kind, "no weights match targets \(targets) (ignore \(ignore))")
        }
        let cache = NF4StreamCache(), errors = ErrorLedger()
        var changes: [PassReport.TensorChange] = [], counts: [Int] = []
        var measure: [String: () throws -> Void] = [:]
        context.progress.start("nf4: planning \(selected.count) weights", selected.count)
        for (k, spec) in selected.enumerated() {
            // Nothing is quantized here: the writer's header needs only the shapes and, with double
            // quantization, the offset (its digits set the quant-state JSON's length), one absmax pass.
            // GPT-2's Conv1D weights ([in, out]) are quantized transposed, as bitsandbytes does.
            let conv1D = Conv1DWeights.contains(spec.name, config: model.config)
            let stored = try model.tensor(spec.name)
            let source = conv1D ? Conv1DWeights.transposed(stored) : stored
            let offset = doubleQuant ? NF4Tensor.doubleQuantOffset(of: source, blockSize: blockSize) : nil
            let specs = NF4Layout.specs(weight: spec.name, shape: source.shape, originalDType: NF4Tensor.dtypeAfterDequantizing(stored),
                                        blockSize: blockSize, nestedOffset: offset)
            let n = spec.shape.reduce(1, *)
            changes.append(.init(name: spec.name, before: "\(spec.dtype) \(spec.shape)",
                                 after: "NF4 block \(blockSize)\(doubleQuant ? " + double-quant absmax" : "")",
                                 bitsPerWeight: NF4Tensor.bitsPerWeight(count: n, blockSize: blockSize, doubleQuant: doubleQuant)))
            counts.append(n)
            measure[spec.name] = try register(spec, specs: specs, offset: offset, transposed: conv1D, in: model, cache: cache, errors: errors,
                                              record: { try? context.ledger.record(context.step + ".errors", k, $0) })
            releasePages(of: spec.name, in: model)
            context.progress.update(k + 1)
        }
        context.progress.finish()
        let skipped = selector.skippedModules(in: model).filter { !TensorTargets.isEmbedding($0) }
        model.config["quantization_config"] = NF4Layout.quantizationConfig(
            doubleQuant: doubleQuant, computeDType: computeDType, skipModules: Self.skipModules(skipped, selected: selected, config: model.config))
        let untiedNote = untied.map {
            "\($0) untied from the token table and quantized to NF4 (tie_word_embeddings is now false): "
                + "the logits use the NF4 head, the embedding lookup the unchanged table"
        }
        var report = makeReport(changes, counts: counts, skipped: skipped, untiedNote: untiedNote)
        report.pending = PendingReport { [self] pending in
            var changes = pending.tensors
            for i in changes.indices where changes[i].relativeError == nil {
                let name = changes[i].name
                // Measured by a shard that wrote this weight (`compress merge`), else not written (yet): quantize it now.
                if errors.error(name) == nil, let e = try context.ledger.item(context.step + ".errors", i, as: Double.self) { errors.record(name, e) }
                if errors.error(name) == nil { try measure[name]!() }
                changes[i].relativeError = errors.error(name)
            }
            var done = makeReport(changes, counts: counts, skipped: skipped, untiedNote: untiedNote)
            (done.seconds, done.peakRSSBytes) = (pending.seconds, pending.peakRSSBytes)
            return done
        }
        return report
    }

    /// `llm_int8_skip_modules`. transformers adds its default skips (the output head, tied weights, the
    /// last module: `get_keys_to_not_convert`) only when the list is null, so a quantized head needs a
    /// list, even an empty one, and a tied head kept in f32 must be named once the list is not null.
    static func skipModules(_ skipped: [String], selected: [TensorSpec], config: [String: Any]) -> [String]? {
        if selected.contains(where: { $0.name.hasSuffix("lm_head.weight") }) { return skipped }
        if skipped.isEmpty { return nil }
        let tied = (try? ModelConfig.from(json: config)).map { $0.isCausalLM && $0.tieWordEmbeddings } ?? false
        return tied && !skipped.contains(where: { $0.hasSuffix("lm_head") }) ? skipped + ["lm_head"] : skipped
    }

    /// The report; per-tensor errors are nil until the writer has produced the weights.
    func makeReport(_ changes: [PassReport.TensorChange], counts: [Int], skipped: [String], untiedNote: String?) -> PassReport {
        let quantizedCount = counts.reduce(0, +)
        let bits = zip(changes, counts).reduce(0.0) { $0 + ($1.0.bitsPerWeight ?? 0) * Double($1.1) } / Double(max(quantizedCount, 1))
        let errors = changes.compactMap(\.relativeError)
        let measured = !changes.isEmpty && errors.count == changes.count
        let mean = errors.reduce(0, +) / Double(max(errors.count, 1))
        var metrics = ["quantized_weights": Double(changes.count), "quantized_parameters": Double(quantizedCount),
                       "bits_per_weight": bits]
        if measured { (metrics["mean_relative_error"], metrics["max_relative_error"]) = (mean, errors.max() ?? 0) }
        return PassReport(
            kind: Self.kind,
            summary: "NF4 (block \(blockSize)\(doubleQuant ? ", double quantization" : "")) on \(changes.count) weights, "
                + String(format: "%.3f bits/weight, ", bits)
                + (measured ? String(format: "mean relative error %.4f", mean) : "relative error measured while writing"),
            metrics: metrics,
            tensors: changes,
            series: measured ? [.init(title: "NF4 relative reconstruction error", xLabel: "weight", yLabel: "‖W − Ŵ‖ / ‖W‖",
                                      labels: changes.map(\.name), values: errors)] : [],
            notes: (skipped.isEmpty ? [] : ["kept in full precision: " + skipped.joined(separator: ", ")]) + [untiedNote].compactMap { $0 })
    }

    /// Replaces `spec` by its serialized tensors, produced lazily through `cache`: the weight is
    /// quantized once, when the writer (or a reader) first asks for one of its parts, and its
    /// reconstruction error recorded in `errors` then. Returns a closure that does the same on demand.
    func register(_ spec: TensorSpec, specs: [TensorSpec], offset: Float?, transposed: Bool, in model: EditableCheckpoint,
                  cache: NF4StreamCache, errors: ErrorLedger, record: @escaping (Double) -> Void = { _ in }) throws -> () throws -> Void {
        let name = spec.name
        let (blockSize, doubleQuant) = (self.blockSize, self.doubleQuant)
        // A weight an earlier pass changed is read now; an untouched one streams from the source map,
        // whose pages are released once it is quantized and measured.
        let pending: Tensor? = model.changedNames.contains(name) ? try model.tensor(name) : nil
        let source = model.source
        let produce = {
            try cache.tensors(for: name) {
                let stored = try pending ?? source.tensor(name)
                let weight = transposed ? Conv1DWeights.transposed(stored) : stored
                let (q, error) = NF4Tensor.quantizeMeasuringError(weight, blockSize: blockSize, doubleQuant: doubleQuant, offset: offset)
                errors.record(name, error)
                record(error)
                if pending == nil { releasePages(of: name, in: source) }
                return q
            }
        }
        for part in specs {
            model.setLazy(part) {
                let tensor = try produce()[part.name]
                guard let tensor, tensor.dtype == part.dtype, tensor.shape == part.shape else {
                    throw PassError(Self.kind, "\(part.name) came out as \(tensor.map { "\($0.dtype) \($0.shape)" } ?? "nothing"), "
                                    + "planned \(part.dtype) \(part.shape) (a bug: please report it)")
                }
                return tensor
            }
        }
        return { _ = try produce() }
    }
}

/// Holds the serialized tensors of the most recently quantized weight, so the writer's consecutive
/// requests for `W`, `W.absmax`, … quantize once; a request for another weight replaces it.
final class NF4StreamCache: @unchecked Sendable {
    private var name: String?
    private var tensors: [String: Tensor] = [:]
    private let lock = NSLock()

    func tensors(for weight: String, quantize: () throws -> NF4Tensor) throws -> [String: Tensor] {
        lock.lock(); defer { lock.unlock() }
        if name != weight {
            tensors = [:]
            tensors = NF4Layout.tensors(weight: weight, try quantize())
            name = weight
        }
        return tensors
    }
}
