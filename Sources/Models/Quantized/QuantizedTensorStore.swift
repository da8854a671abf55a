import Foundation
import Kernels
import Tensors
import Checkpoints

/// A checkpoint written in one of the two quantized layouts, presented as the model it stands for:
/// every quantized weight appears under its original name as F32 (dequantized), and the auxiliary
/// tensors (absmax, quant maps, quant state, weight_scale) are hidden. The quantized forms stay
/// available (`nf4Weight`, `int8Weight`) for kernels that compute on them directly.
/// Recognised from `config.json` → `quantization_config.quant_method`: `bitsandbytes` (4-bit NF4) or
/// `compressed-tensors` (format `int-quantized`); or from the `whittle.quantization` section of a `qat`
/// student: `whittle-packed` (`PackedLayout`). Any other store passes through unchanged.
public final class QuantizedTensorStore: TensorStore, @unchecked Sendable {
    public enum Layout: Equatable, Sendable { case none, nf4, int8, packed }

    public let base: TensorStore
    public let layout: Layout
    public let quantizedWeights: Set<String>
    /// `whittle.quantization` (a `qat` student), if the config has it.
    public let quantization: QuantizationSettings?
    private let hidden: Set<String>
    public let names: [String]
    public var config: [String: Any] { base.config }

    public init(_ base: TensorStore) throws {
        self.base = base
        let qc = base.config["quantization_config"] as? [String: Any]
        let quantization = try WhittleConfig.read(from: base.config).quantization
        self.quantization = quantization
        switch qc?["quant_method"] as? String {
        case nil where quantization?.format == QuantizationSettings.packedFormat:
            layout = .packed
        case nil:
            if let f = quantization?.format, f != QuantizationSettings.int8Format {
                throw QuantizedCheckpointError.unsupportedQuantizationConfig(reason: "whittle.quantization.format '\(f)' is not supported; expected \"\(QuantizationSettings.packedFormat)\" (or \"\(QuantizationSettings.int8Format)\" with its quantization_config)")
            }
            layout = .none
        case "bitsandbytes":
            guard (qc?["load_in_4bit"] as? Bool) == true, (qc?["bnb_4bit_quant_type"] as? String) == "nf4" else {
                throw QuantizedCheckpointError.unsupportedQuantizationConfig(reason: "bitsandbytes checkpoints are read only as load_in_4bit with bnb_4bit_quant_type \"nf4\"")
            }
            layout = .nf4
        case "compressed-tensors":
            guard (qc?["format"] as? String) == "int-quantized" else {
                throw QuantizedCheckpointError.unsupportedQuantizationConfig(reason: "compressed-tensors format '\(qc?["format"] ?? "none")' is not supported; expected \"int-quantized\"")
            }
            layout = .int8
            let groups = (qc?["config_groups"] as? [String: Any] ?? [:]).values.compactMap { $0 as? [String: Any] }
            if groups.contains(where: { (($0["weights"] as? [String: Any])?["symmetric"] as? Bool) == false }) {
                throw QuantizedCheckpointError.unsupportedQuantizationConfig(reason: "int-quantized weights are read only as symmetric (weights.symmetric true)")
            }
        case let other?:
            throw QuantizedCheckpointError.unsupportedQuantizationConfig(reason: "quant_method '\(other)' is not supported; expected \"bitsandbytes\" or \"compressed-tensors\"")
        }
        var quantized = Set<String>(), hidden = Set<String>()
        let all = Set(base.names)
        for name in base.names {
            switch layout {
            case .nf4 where name.hasSuffix(NF4Layout.stateSuffix):
                let weight = String(name.dropLast(NF4Layout.stateSuffix.count))
                quantized.insert(weight)
                hidden.insert(name)
                for suffix in [".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map"] where all.contains(weight + suffix) {
                    hidden.insert(weight + suffix)
                }
            case .packed where quantization?.weights[name] != nil:
                guard all.contains(PackedLayout.scalesName(weight: name)) else {
                    throw QuantizedCheckpointError.invalidQuantState(tensor: PackedLayout.scalesName(weight: name), reason: "missing (the scales of a packed weight)")
                }
                quantized.insert(name)
                hidden.insert(PackedLayout.scalesName(weight: name))
            case .int8 where name.hasSuffix(".weight_scale"):
                let weight = String(name.dropLast("_scale".count))
                if base.spec(weight)?.dtype == .I8 {
                    quantized.insert(weight); hidden.insert(name)
                    // static scheme: the calibrated input parameters (and a symmetric weight's zero point, if saved)
                    for extra in [Int8Layout.inputScaleName(weight: weight), Int8Layout.inputZeroPointName(weight: weight),
                                  weight + "_zero_point"] where all.contains(extra) {
                        hidden.insert(extra)
                    }
                }
            default:
                break
            }
        }
        if layout == .packed, let missing = quantization?.weights.keys.sorted().first(where: { !all.contains($0) }) {
            throw QuantizedCheckpointError.invalidQuantState(tensor: missing, reason: "listed in whittle.quantization.weights but not in the checkpoint")
        }
        self.quantizedWeights = quantized
        self.hidden = hidden
        self.names = base.names.filter { !hidden.contains($0) }
    }

    public func spec(_ name: String) -> TensorSpec? {
        if hidden.contains(name) { return nil }
        guard quantizedWeights.contains(name) else { return base.spec(name) }
        switch layout {
        case .nf4:
            let shape = try? NF4Layout.shape(weight: name, from: base)
            return shape.map { TensorSpec(name: name, dtype: .F32, shape: Conv1DWeights.contains(name, config: config) ? $0.reversed() : $0) }
        case .int8: return base.spec(name).map { TensorSpec(name: name, dtype: .F32, shape: $0.shape) }
        case .packed: return quantization?.weights[name].map { TensorSpec(name: name, dtype: .F32, shape: $0.shape) }
        case .none: return base.spec(name)
        }
    }

    public func tensor(_ name: String) throws -> Tensor {
        if hidden.contains(name) { throw CheckpointError.tensorNotFound(path: "(quantized model)", name: name) }
        guard quantizedWeights.contains(name) else { return try base.tensor(name) }
        switch layout {
        case .nf4:
            let q = try nf4Weight(name)
            let weight = Tensor(floats: q.dequantized(), shape: q.shape)
            return Conv1DWeights.contains(name, config: config) ? Conv1DWeights.transposed(weight) : weight
        case .int8:
            let (q, scale, shape) = try int8Weight(name)
            var out = [Float](repeating: 0, count: q.count)
            int8DequantizeRows(output: &out, q: q, scale: scale, rows: shape[0], cols: shape[1])
            return Tensor(floats: out, shape: shape)
        case .packed:
            let (codes, scales) = try packedWeight(name)
            return Tensor(floats: codes.dequantized(scales: scales), shape: [codes.rows, codes.cols])
        case .none:
            return try base.tensor(name)
        }
    }

    public func nf4Weight(_ name: String) throws -> NF4Tensor { try NF4Layout.read(weight: name, from: base) }
    public func packedWeight(_ name: String) throws -> (codes: PackedCodes, scales: [Float]) {
        guard let entry = quantization?.weights[name] else { throw CheckpointError.tensorNotFound(path: "(quantized model)", name: name) }
        return try PackedLayout.read(weight: name, entry, from: base)
    }
    public func int8Weight(_ name: String) throws -> (q: [Int8], scale: [Float], shape: [Int]) {
        try Int8Layout.read(weight: name, from: base)
    }
    /// The static input parameters of a linear module (`…q_proj`), nil for dynamic activations.
    public func int8StaticInput(_ module: String) throws -> AsymmetricUInt8Params? {
        try Int8Layout.readInput(weight: module + ".weight", from: base)
    }
}
