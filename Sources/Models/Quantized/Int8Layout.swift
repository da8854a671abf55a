import Foundation
import Kernels
import Tensors
import Checkpoints

/// The compressed-tensors `int-quantized` layout of a symmetric per-channel int8 weight
/// (`compressed_tensors/compressors/naive_quantized/base.py`, v0.20): `W` I8 [out, in] and
/// `W_scale` [out, 1] in the weight's original float dtype; no zero point (symmetric).
/// Note the name: `…q_proj.weight_scale`, a sibling of `…q_proj.weight`.
public enum Int8Layout {
    public static func scaleName(weight name: String) -> String { name + "_scale" }

    /// Quantizes a 2-D weight per output row; the scale is rounded to `dtype` as stored and the
    /// codes are computed with that stored scale (what compressed-tensors does with a BF16 scale).
    public static func quantize(_ weight: Tensor) -> (q: [Int8], scale: [Float], scaleDType: DType) {
        precondition(weight.shape.count == 2, "Int8Layout.quantize: weight must be 2-D")
        let rows = weight.shape[0], cols = weight.shape[1]
        let scaleDType: DType = weight.dtype == .BF16 || weight.dtype == .F16 ? weight.dtype : .F32
        let values = weight.floats()
        var q = [Int8](repeating: 0, count: rows * cols)
        var scale = [Float](repeating: 0, count: rows)
        let round: (Float) -> Float = { s in
            Tensor(floats: [s], shape: [1], dtype: scaleDType).floats()[0]
        }
        int8QuantizeRows(q: &q, scale: &scale, x: values, rows: rows, cols: cols,
                         roundScale: scaleDType == .F32 ? { $0 } : round)
        return (q, scale, scaleDType)
    }

    public static func tensors(weight name: String, q: [Int8], scale: [Float], scaleDType: DType, shape: [Int]) -> [String: Tensor] {
        [
            name: q.withUnsafeBytes { Tensor(dtype: .I8, shape: shape, bytes: $0) },
            scaleName(weight: name): Tensor(floats: scale, shape: [scale.count, 1], dtype: scaleDType),
        ]
    }

    /// Reads a weight back as (codes, per-row scale).
    public static func read(weight name: String, from store: TensorStore) throws -> (q: [Int8], scale: [Float], shape: [Int]) {
        let w = try store.tensor(name)
        guard w.dtype == .I8, w.shape.count == 2 else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: name, reason: "int-quantized weight must be I8 [out, in], found \(w.dtype) \(w.shape)")
        }
        let s = try store.tensor(scaleName(weight: name))
        guard s.elementCount == w.shape[0] else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: scaleName(weight: name), reason: "\(s.shape) does not hold one scale per output row (\(w.shape[0]))")
        }
        let q = w.bytes.bindMemory(to: Int8.self)
        return (Array(q), s.floats(), w.shape)
    }

    /// `quantization_config` for W8A8: int8 symmetric per-channel weights and dynamic per-token int8
    /// activations (compressed-tensors preset `W8A8`, format `int-quantized`, as `ModelCompressor.update_config` writes it).
    public static func quantizationConfig(ignore: [String], version: String = "0.20.1") -> [String: Any] {
        let weights: [String: Any] = [
            "num_bits": 8, "type": "int", "symmetric": true, "group_size": NSNull(), "strategy": "channel", "dynamic": false,
        ]
        let activations: [String: Any] = [
            "num_bits": 8, "type": "int", "symmetric": true, "group_size": NSNull(), "strategy": "token", "dynamic": true,
        ]
        return [
            "config_groups": ["group_0": [
                "targets": ["Linear"], "weights": weights, "input_activations": activations,
                "output_activations": NSNull(), "format": NSNull(),
            ] as [String: Any]],
            "format": "int-quantized",
            "global_compression_ratio": NSNull(),
            "ignore": ignore,
            "kv_cache_scheme": NSNull(),
            "moe_sparsity_config": NSNull(),
            "quant_method": "compressed-tensors",
            "quantization_status": "compressed",
            "sparsity_config": [String: Any](),
            "transform_config": [String: Any](),
            "version": version,
        ]
    }
}
