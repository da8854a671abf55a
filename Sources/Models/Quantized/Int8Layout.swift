import Foundation
import Kernels
import Tensors
import Checkpoints

/// The compressed-tensors `int-quantized` layout of a symmetric per-channel int8 weight
/// (`compressed_tensors/compressors/naive_quantized/base.py`, v0.20): `W` I8 [out, in] and
/// `W_scale` [out, 1] in the weight's original float dtype; no zero point (symmetric).
/// Note the name: `…q_proj.weight_scale`, a sibling of `…q_proj.weight`.
/// The static scheme (ALGORITHMS.md §3.5) stores a per-tensor weight scale ([1]) and, per linear, the
/// calibrated input parameters `…q_proj.input_scale` ([1], float) and `…q_proj.input_zero_point` ([1], I8).
public enum Int8Layout {
    public static func scaleName(weight name: String) -> String { name + "_scale" }
    /// `…q_proj.weight` → `…q_proj.input_scale` / `…q_proj.input_zero_point`.
    public static func inputScaleName(weight name: String) -> String { module(name) + ".input_scale" }
    public static func inputZeroPointName(weight name: String) -> String { module(name) + ".input_zero_point" }
    static func module(_ weight: String) -> String { weight.hasSuffix(".weight") ? String(weight.dropLast(".weight".count)) : weight }

    /// The stored form of a scale: rounded through `dtype` (F32: unchanged).
    public static func stored(_ s: Float, _ dtype: DType) -> Float {
        dtype == .F32 ? s : Tensor(floats: [s], shape: [1], dtype: dtype).floats()[0]
    }

    /// Symmetric per-tensor codes with the clipping range `alpha` (the static scheme's MSE grid range):
    /// Δ = α/127.5 rounded as stored, q = clamp(round(w/Δ), −128, 127).
    public static func quantizePerTensor(_ weight: Tensor, alpha: Float) -> (q: [Int8], scale: Float, scaleDType: DType) {
        let scaleDType: DType = weight.dtype == .BF16 || weight.dtype == .F16 ? weight.dtype : .F32
        let s = stored(int8SymmetricScale(absmax: alpha), scaleDType)
        return (weight.floats().map { int8Round($0 / s) }, s, scaleDType)
    }

    /// The static input tensors of one linear, with Δ rounded as stored and the int8 zero point (uint8 − 128).
    public static func inputTensors(weight name: String, _ p: AsymmetricUInt8Params, scaleDType: DType) -> [String: Tensor] {
        let z = Int8(p.zeroPoint - 128)
        return [inputScaleName(weight: name): Tensor(floats: [p.scale], shape: [1], dtype: scaleDType),
                inputZeroPointName(weight: name): withUnsafeBytes(of: z) { Tensor(dtype: .I8, shape: [1], bytes: $0) }]
    }

    /// The stored static input parameters of a weight's linear, nil when it has none (dynamic scheme).
    public static func readInput(weight name: String, from store: TensorStore) throws -> AsymmetricUInt8Params? {
        let sName = inputScaleName(weight: name), zName = inputZeroPointName(weight: name)
        guard store.contains(sName) else { return nil }
        let s = try store.tensor(sName)
        guard s.elementCount == 1, let zt = try? store.tensor(zName), zt.dtype == .I8, zt.elementCount == 1 else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: sName, reason: "a static input needs one scale and one I8 \(zName)")
        }
        let scale = s.floats()[0], z = zt.bytes.load(as: Int8.self)
        guard scale.isFinite, scale > 0 else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: sName, reason: "scale must be positive and finite, found \(scale)")
        }
        return AsymmetricUInt8Params(scale: scale, zeroPoint: Float(Int(z) + 128))
    }

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

    /// The codes and the scale: per row `[out, 1]`, or per tensor `[1]` (one scale given).
    public static func tensors(weight name: String, q: [Int8], scale: [Float], scaleDType: DType, shape: [Int]) -> [String: Tensor] {
        [
            name: q.withUnsafeBytes { Tensor(dtype: .I8, shape: shape, bytes: $0) },
            scaleName(weight: name): Tensor(floats: scale, shape: scale.count == 1 && shape[0] != 1 ? [1] : [scale.count, 1], dtype: scaleDType),
        ]
    }

    /// Reads a weight back as (codes, per-row scale).
    public static func read(weight name: String, from store: TensorStore) throws -> (q: [Int8], scale: [Float], shape: [Int]) {
        let w = try store.tensor(name)
        guard w.dtype == .I8, w.shape.count == 2 else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: name, reason: "int-quantized weight must be I8 [out, in], found \(w.dtype) \(w.shape)")
        }
        let s = try store.tensor(scaleName(weight: name))
        guard s.elementCount == w.shape[0] || s.elementCount == 1 else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: scaleName(weight: name), reason: "\(s.shape) holds neither one scale per output row (\(w.shape[0])) nor one per tensor")
        }
        let q = w.bytes.bindMemory(to: Int8.self)
        let scale = s.elementCount == 1 ? [Float](repeating: s.floats()[0], count: w.shape[0]) : s.floats()
        return (Array(q), scale, w.shape)
    }

    /// `quantization_config` for W8A8: int8 symmetric per-channel weights and dynamic per-token int8
    /// activations (compressed-tensors preset `W8A8`, format `int-quantized`, as `ModelCompressor.update_config` writes it).
    /// `static`: symmetric per-tensor weights and static asymmetric per-tensor activations (the §3.5
    /// scheme as compressed-tensors expresses it: `input_activations` `dynamic: false`, scale and zero point stored).
    public static func quantizationConfig(ignore: [String], static isStatic: Bool = false, version: String = "0.20.1") -> [String: Any] {
        let weights: [String: Any] = [
            "num_bits": 8, "type": "int", "symmetric": true, "group_size": NSNull(), "strategy": isStatic ? "tensor" : "channel", "dynamic": false,
        ]
        let activations: [String: Any] = [
            "num_bits": 8, "type": "int", "symmetric": !isStatic, "group_size": NSNull(), "strategy": isStatic ? "tensor" : "token",
            "dynamic": !isStatic,
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
