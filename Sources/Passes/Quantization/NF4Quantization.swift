import Foundation
import Checkpoints
import Kernels
import Models
import Tensors

/// Pass `nf4` (QLoRA, ALGORITHMS.md §5): blockwise NF4 weights with optional double quantization,
/// written in the bitsandbytes serialization with `quantization_config` so transformers +
/// bitsandbytes load the output (DESIGN.md §4). Weight-only and streaming: each weight is quantized
/// when the writer asks for it, one at a time, straight from the memory map.
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

    public init(blockSize: Int = 64, doubleQuant: Bool = true, targets: [String] = TensorTargets.defaultTargets,
                ignore: [String] = [], computeDType: String = "float32") {
        self.blockSize = blockSize; self.doubleQuant = doubleQuant; self.targets = targets
        self.ignore = ignore; self.computeDType = computeDType
    }

    public init(from decoder: Decoder) throws {
        try StrictKeys.reject(unknownIn: decoder, allowed: ["pass"] + CodingKeys.allKeys)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        blockSize = try c.decodeIfPresent(Int.self, forKey: .blockSize) ?? 64
        doubleQuant = try c.decodeIfPresent(Bool.self, forKey: .doubleQuant) ?? true
        targets = try c.decodeIfPresent([String].self, forKey: .targets) ?? TensorTargets.defaultTargets
        ignore = try c.decodeIfPresent([String].self, forKey: .ignore) ?? []
        computeDType = try c.decodeIfPresent(String.self, forKey: .computeDType) ?? "float32"
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
        let selected = selector.selected(in: model)
        guard !selected.isEmpty else {
            throw PassError(Self.kind, "no weights match targets \(targets) (ignore \(ignore))")
        }
        let cache = NF4StreamCache()
        var changes: [PassReport.TensorChange] = []
        var quantizedBits = 0.0, quantizedCount = 0
        context.progress.start("nf4: quantizing \(selected.count) weights", selected.count)
        for (k, spec) in selected.enumerated() {
            // Report pass: quantize once for the error, then drop it; the writer re-quantizes lazily.
            let source = try model.tensor(spec.name)
            let q = NF4Tensor.quantize(source, blockSize: blockSize, doubleQuant: doubleQuant)
            let error = relativeError(source, q.dequantized())
            changes.append(.init(name: spec.name, before: "\(spec.dtype) \(spec.shape)",
                                 after: "NF4 block \(blockSize)\(doubleQuant ? " + double-quant absmax" : "")",
                                 bitsPerWeight: q.bitsPerWeight, relativeError: error))
            quantizedBits += q.bitsPerWeight * Double(q.count); quantizedCount += q.count
            try register(spec, quantized: q, in: model, cache: cache)
            releasePages(of: spec.name, in: model)
            context.progress.update(k + 1)
        }
        context.progress.finish()
        let skipped = selector.skippedModules(in: model).filter { !TensorTargets.isEmbedding($0) }
        model.config["quantization_config"] = NF4Layout.quantizationConfig(
            doubleQuant: doubleQuant, computeDType: computeDType, skipModules: skipped)
        let errors = changes.compactMap(\.relativeError)
        return PassReport(
            kind: Self.kind,
            summary: "NF4 (block \(blockSize)\(doubleQuant ? ", double quantization" : "")) on \(changes.count) weights, "
                + String(format: "%.3f bits/weight, mean relative error %.4f", quantizedBits / Double(max(quantizedCount, 1)),
                         errors.reduce(0, +) / Double(max(errors.count, 1))),
            metrics: ["quantized_weights": Double(changes.count), "quantized_parameters": Double(quantizedCount),
                      "bits_per_weight": quantizedBits / Double(max(quantizedCount, 1)),
                      "mean_relative_error": errors.reduce(0, +) / Double(max(errors.count, 1)),
                      "max_relative_error": errors.max() ?? 0],
            tensors: changes,
            series: [.init(title: "NF4 relative reconstruction error", xLabel: "weight", yLabel: "‖W − Ŵ‖ / ‖W‖",
                           labels: changes.map(\.name), values: errors)],
            notes: skipped.isEmpty ? [] : ["kept in full precision: " + skipped.joined(separator: ", ")])
    }

    /// Replaces `spec` by its serialized tensors, produced lazily through `cache`.
    func register(_ spec: TensorSpec, quantized first: NF4Tensor, in model: EditableCheckpoint, cache: NF4StreamCache) throws {
        let name = spec.name
        let (blockSize, doubleQuant) = (self.blockSize, self.doubleQuant)
        // A weight an earlier pass changed is read now; an untouched one streams from the source map,
        // whose pages are released once it is quantized.
        let pending: Tensor? = model.changedNames.contains(name) ? try model.tensor(name) : nil
        let source = model.source
        let produce: (String) throws -> Tensor = { part in
            let all = try cache.tensors(for: name) {
                let q = NF4Tensor.quantize(try pending ?? source.tensor(name), blockSize: blockSize, doubleQuant: doubleQuant)
                if pending == nil, let checkpoint = source as? Checkpoint, let info = checkpoint.info(name) {
                    checkpoint.file(of: name)?.release(info)
                }
                return q
            }
            return all[part]!
        }
        // Specs come from the report pass's result (quantization is deterministic, so the lazy pass
        // produces the same shapes, including the quant-state JSON length).
        for (part, tensor) in NF4Layout.tensors(weight: name, first) {
            model.setLazy(TensorSpec(name: part, dtype: tensor.dtype, shape: tensor.shape)) { try produce(part) }
        }
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

extension CodingKey where Self: CaseIterable {
    static var allKeys: [String] { allCases.map(\.stringValue) }
}
