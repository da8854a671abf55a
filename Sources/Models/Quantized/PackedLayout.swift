import Kernels
import Tensors
import Checkpoints

/// Whittle's packed low-bit weights (`whittle.quantization.format` = `whittle-packed`; the byte
/// layout is `PackedCodes`): for a weight `W` [rows, cols] quantized ternary or symmetric 2…4-bit,
///   W          U8  [rows, row bytes]   codes, 2 bits (ternary, 2-bit) or 4 bits (3-, 4-bit) each
///   W.scales   F32 [1] per tensor, or [rows] per row (the word embedding)
/// with W's quantizer and original shape in the section's `weights` entry. x̂ = scale · code.
public enum PackedLayout {
    public static func scalesName(weight name: String) -> String { name + ".scales" }

    /// Bits of a packed field for a quantizer's codes, or nil when it has no packed form here.
    public static func fieldBits(_ q: Quantizer) -> Int? {
        switch q.scheme {
        case .ternary: return 2
        case .symmetric where q.bits <= 4: return q.bits <= 2 ? 2 : 4
        default: return nil
        }
    }

    /// The tensors of one weight from its codes (`Quantizer.quantize`).
    public static func tensors(weight name: String, _ q: QuantizedCodes) -> [String: Tensor] {
        guard let bits = fieldBits(q.quantizer) else { preconditionFailure("PackedLayout: no packed form for \(q.quantizer)") }
        let packed = q.codes.withUnsafeBufferPointer { PackedCodes(bits: bits, rows: q.rows, cols: q.cols, codes: $0) }
        return [name: packed.bytes.withUnsafeBytes { Tensor(dtype: .U8, shape: [q.rows, packed.rowBytes], bytes: $0) },
                scalesName(weight: name): Tensor(floats: q.scales, shape: [q.scales.count])]
    }

    /// Reads one weight back: its codes and scales, checked against the section's entry.
    public static func read(weight name: String, _ entry: QuantizationSettings.Weight, from store: TensorStore) throws -> (codes: PackedCodes, scales: [Float]) {
        guard let bits = fieldBits(entry.quantizer), entry.shape.count == 2 else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: name, reason: "whittle.quantization.weights: expected a 2-D shape and a ternary or 2…4-bit symmetric quantizer, found \(entry.quantizer) \(entry.shape)")
        }
        let (rows, cols) = (entry.shape[0], entry.shape[1])
        let w = try store.tensor(name)
        let rb = PackedCodes.rowBytes(bits: bits, cols: cols)
        guard w.dtype == .U8, w.shape == [rows, rb] else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: name, reason: "packed \(bits)-bit codes of [\(rows), \(cols)] must be U8 [\(rows), \(rb)], found \(w.dtype) \(w.shape)")
        }
        let s = try store.tensor(scalesName(weight: name))
        let groups = entry.quantizer.granularity == .tensor ? 1 : rows
        guard s.dtype == .F32, s.elementCount == groups else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: scalesName(weight: name), reason: "expected F32 with \(groups) scale(s) (per \(entry.quantizer.granularity.rawValue)), found \(s.dtype) \(s.shape)")
        }
        return (PackedCodes(bits: bits, rows: rows, cols: cols, bytes: Array(w.bytes)), s.floats())
    }
}
