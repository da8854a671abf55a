import CSIMD
import Tensors

// Quantization of Float32 rows to ggml block formats: the inverse of GGUFDequantize.swift, one pure
// function per block type (input first: `blockSize` floats, then the block's bytes). Each follows
// ggml's reference quantizer (ggml-quants.c `quantize_row_*_ref`, which `llama-quantize` runs when no
// importance matrix is given) operation for operation in Float32 — same comparisons, same rounding,
// same half conversion (round to nearest even) — so the bytes equal llama-quantize's
// (tools/reference/gguf_quantize_reference.py checks it). The K-quants are in GGUFQuantizeK.swift.

/// Converts `values` (a whole number of `type` blocks of floats) into `out` (`blockBytes` per block).
/// `type` must be one of `GGMLType.quantizable`. `simd` false runs only the Swift block functions
/// (the naive twins); true lets CSIMD's AVX2 loops (`csimd_ggml_quantize`, same bytes) take every
/// block they can, the Swift function taking the rest (non-finite blocks; other CPUs).
public func quantizeGGML(_ out: UnsafeMutableRawBufferPointer, _ values: UnsafeBufferPointer<Float>, type: GGMLType, simd: Bool = true) {
    guard let block = blockQuantizer(type) else { preconditionFailure("quantizeGGML: \(type) is not supported") }
    let count = values.count / type.blockSize
    precondition(values.count == count * type.blockSize && out.count == count * type.blockBytes,
                 "quantizeGGML: \(values.count) floats do not fill \(out.count) bytes of \(type)")
    guard count > 0, let x = values.baseAddress, let y = out.baseAddress else { return }
    if simd, [.F32, .F16, .BF16].contains(type) {   // DTypeConversion's SIMD conversions, same rounding
        DTypeConversion.store(values, as: type == .F32 ? .F32 : type == .F16 ? .F16 : .BF16, into: out)
        return
    }
    let fast: Int32? = simd && [.Q8_0, .Q4_0, .Q4_1, .Q5_0, .Q4_K, .Q6_K].contains(type) ? Int32(type.rawValue) : nil
    // The common types call their block function directly (inlined; no closure per block).
    func each(_ f: (UnsafeMutableRawPointer, UnsafePointer<Float>) -> Void) {
        var b = 0
        while b < count {
            if let fast {
                b += csimd_ggml_quantize(fast, y + b * type.blockBytes, x + b * type.blockSize, count - b)
                if b == count { break }
            }
            f(y + b * type.blockBytes, x + b * type.blockSize)
            b += 1
        }
    }
    switch type {
    case .Q8_0: each(quantizeQ8_0)
    case .Q4_0: each(quantizeQ4_0)
    case .Q4_1: each(quantizeQ4_1)
    case .Q5_0: each(quantizeQ5_0)
    default: each(block)
    }
}

extension GGMLType {
    /// The types `quantizeGGML` (and so the GGUF writer) produces.
    public static let quantizable: [GGMLType] = [.F32, .F16, .BF16, .Q8_0, .Q4_0, .Q4_1, .Q5_0, .Q4_K, .Q6_K]

    /// Bytes of `elements` values stored in this type (a whole number of blocks).
    public func byteCount(elements: Int) -> Int { elements / blockSize * blockBytes }
}

/// The block function of a type, nil when the type is not supported.
func blockQuantizer(_ type: GGMLType) -> ((UnsafeMutableRawPointer, UnsafePointer<Float>) -> Void)? {
    switch type {
    case .F32: return { y, x in y.storeLE(x.pointee.bitPattern, 0) }
    case .F16: return { y, x in y.storeLE(DTypeConversion.floatToFloat16(x.pointee), 0) }
    case .BF16: return { y, x in y.storeLE(ggmlBFloat16(x.pointee), 0) }
    case .Q8_0: return quantizeQ8_0
    case .Q4_0: return quantizeQ4_0
    case .Q4_1: return quantizeQ4_1
    case .Q5_0: return quantizeQ5_0
    case .Q4_K: return quantizeQ4_K
    case .Q6_K: return quantizeQ6_K
    default: return nil
    }
}

/// ggml's `ggml_compute_fp32_to_bf16`: round to nearest even; a NaN becomes quiet with its sign kept.
func ggmlBFloat16(_ f: Float) -> UInt16 {
    let u = f.bitPattern
    if u & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: (u >> 16) | 64) }
    return UInt16(truncatingIfNeeded: (u &+ (0x7FFF &+ ((u >> 16) & 1))) >> 16)
}

/// The largest magnitude of a block and the signed value that has it (the first one on ties).
@inline(__always) func signedAbsMax(_ x: UnsafePointer<Float>, _ n: Int) -> (amax: Float, max: Float) {
    var amax: Float = 0, max: Float = 0
    for j in 0..<n where amax < abs(x[j]) { amax = abs(x[j]); max = x[j] }
    return (amax, max)
}

/// C's `(int8_t)` of a float then `MIN(limit, ·)` as uint8: truncation toward zero. The inputs are
/// in [−0.5, limit + 1.5) for finite weights; non-finite ones saturate instead of trapping.
@inline(__always) func truncatedNibble(_ v: Float, limit: Int) -> UInt8 {
    let t = v.isFinite ? Int(Swift.max(-128, Swift.min(127, v.rounded(.towardZero)))) : 0
    return UInt8(truncatingIfNeeded: Swift.min(limit, t))
}

/// block_q8_0: d = amax/127, q = round(x/d) (halves away from zero, as C's roundf).
func quantizeQ8_0(_ y: UnsafeMutableRawPointer, _ x: UnsafePointer<Float>) {
    var amax: Float = 0
    for j in 0..<32 { amax = Swift.max(amax, abs(x[j])) }
    let d = amax / 127
    let id: Float = d != 0 ? 1 / d : 0
    y.storeLE(DTypeConversion.floatToFloat16(d), 0)
    for j in 0..<32 {
        let q = (x[j] * id).rounded(.toNearestOrAwayFromZero)
        y.storeBytes(of: Int8(q.isFinite ? Swift.max(-128, Swift.min(127, q)) : 0), toByteOffset: 2 + j, as: Int8.self)
    }
}

/// block_q4_0: d = max/−8 (max the signed value of largest magnitude), q = min(15, trunc(x/d + 8.5)).
func quantizeQ4_0(_ y: UnsafeMutableRawPointer, _ x: UnsafePointer<Float>) {
    let (_, max) = signedAbsMax(x, 32)
    let d = max / -8
    let id: Float = d != 0 ? 1 / d : 0
    y.storeLE(DTypeConversion.floatToFloat16(d), 0)
    for j in 0..<16 {
        let lo = truncatedNibble(x[j] * id + 8.5, limit: 15), hi = truncatedNibble(x[j + 16] * id + 8.5, limit: 15)
        y.storeBytes(of: lo | hi << 4, toByteOffset: 2 + j, as: UInt8.self)
    }
}

/// block_q4_1: d = (max − min)/15, m = min, q = min(15, trunc((x − min)/d + 0.5)).
func quantizeQ4_1(_ y: UnsafeMutableRawPointer, _ x: UnsafePointer<Float>) {
    var min = Float.greatestFiniteMagnitude, max = -Float.greatestFiniteMagnitude
    for j in 0..<32 {
        if x[j] < min { min = x[j] }
        if x[j] > max { max = x[j] }
    }
    let d = (max - min) / 15
    let id: Float = d != 0 ? 1 / d : 0
    y.storeLE(DTypeConversion.floatToFloat16(d), 0)
    y.storeLE(DTypeConversion.floatToFloat16(min), 2)
    for j in 0..<16 {
        let lo = truncatedNibble((x[j] - min) * id + 0.5, limit: 15), hi = truncatedNibble((x[j + 16] - min) * id + 0.5, limit: 15)
        y.storeBytes(of: lo | hi << 4, toByteOffset: 4 + j, as: UInt8.self)
    }
}

/// block_q5_0 (llama.cpp's fallback for Q4_K rows that are not a multiple of 256): d = max/−16,
/// q = min(31, trunc(x/d + 16.5)); low nibbles as Q4_0, fifth bits in qh.
func quantizeQ5_0(_ y: UnsafeMutableRawPointer, _ x: UnsafePointer<Float>) {
    let (_, max) = signedAbsMax(x, 32)
    let d = max / -16
    let id: Float = d != 0 ? 1 / d : 0
    y.storeLE(DTypeConversion.floatToFloat16(d), 0)
    var qh: UInt32 = 0
    for j in 0..<16 {
        let lo = truncatedNibble(x[j] * id + 16.5, limit: 31), hi = truncatedNibble(x[j + 16] * id + 16.5, limit: 31)
        y.storeBytes(of: (lo & 0xF) | (hi & 0xF) << 4, toByteOffset: 6 + j, as: UInt8.self)
        qh |= UInt32(lo >> 4) << UInt32(j) | UInt32(hi >> 4) << UInt32(j + 16)
    }
    y.storeLE(qh, 2)
}

extension UnsafeMutableRawPointer {
    @inline(__always) func storeLE<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
        storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }
}
