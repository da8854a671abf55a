import Dispatch
import Tensors

// Dequantization of ggml block formats to Float32, one pure function per block type: output first
// (`blockSize` floats), then the block's bytes. Layouts as ggml-common.h declares them, all fields
// little-endian, scales stored as IEEE half. Arithmetic is plain Float32 in the order ggml's
// reference `dequantize_row_*` (ggml-quants.c) and gguf-py `quants.py` use — products of a half
// scale and a small integer, then one subtraction or addition — so results are bit-identical.
// The K-quants (256-element super-blocks) are in GGUFDequantizeK.swift.

/// Converts `blocks` (a whole number of `type` blocks) into `out` (`blockSize` floats per block).
/// `type` must be one of `GGMLType.dequantizable`. F32/F16/BF16 widen through DTypeConversion (SIMD,
/// the same exact values); the block types run their block functions over contiguous block ranges,
/// one per core when the tensor is large.
public func dequantizeGGML(_ out: UnsafeMutableBufferPointer<Float>, _ blocks: UnsafeRawBufferPointer, type: GGMLType) {
    guard blockDequantizer(type) != nil else { preconditionFailure("dequantizeGGML: \(type) is not supported") }
    let count = blocks.count / type.blockBytes
    precondition(blocks.count == count * type.blockBytes && out.count == count * type.blockSize,
                 "dequantizeGGML: \(blocks.count) bytes of \(type) do not fill \(out.count) floats")
    guard count > 0, let x = blocks.baseAddress, let y = out.baseAddress else { return }
    if [.F32, .F16, .BF16].contains(type) {
        DTypeConversion.load(blocks, as: type == .F32 ? .F32 : type == .F16 ? .F16 : .BF16, into: out)
        return
    }
    let parts = count * type.blockSize >= 1 << 18 ? min(ProcessInfo_cores, count) : 1
    DispatchQueue.concurrentPerform(iterations: parts) { p in
        let lo = count * p / parts, hi = count * (p + 1) / parts
        dequantizeBlocks(y + lo * type.blockSize, x + lo * type.blockBytes, blocks: hi - lo, type: type)
    }
}

/// `blocks` blocks of `type` at `x` to Float32 at `y`, on the calling thread (the serial core of
/// `dequantizeGGML`, also called per row range by `GGUFTensorStore.stream`).
func dequantizeBlocks(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeRawPointer, blocks: Int, type: GGMLType) {
    guard blocks > 0 else { return }
    if [.F32, .F16, .BF16].contains(type) {
        DTypeConversion.load(UnsafeRawBufferPointer(start: x, count: blocks * type.blockBytes), as: type == .F32 ? .F32 : type == .F16 ? .F16 : .BF16,
                             into: UnsafeMutableBufferPointer(start: y, count: blocks))
        return
    }
    // The common types call their block function directly (inlined; no closure per block).
    func each(_ f: (UnsafeMutablePointer<Float>, UnsafeRawPointer) -> Void) {
        for b in 0..<blocks { f(y + b * type.blockSize, x + b * type.blockBytes) }
    }
    switch type {
    case .Q8_0: each(dequantizeQ8_0)
    case .Q4_0: each(dequantizeQ4_0)
    case .Q4_1: each(dequantizeQ4_1)
    case .Q5_0: each(dequantizeQ5_0)
    case .Q6_K: each(dequantizeQ6_K)
    default: each(blockDequantizer(type)!)
    }
}

/// The block function of a type, nil when the type is not supported.
func blockDequantizer(_ type: GGMLType) -> ((UnsafeMutablePointer<Float>, UnsafeRawPointer) -> Void)? {
    switch type {
    case .F32: return { y, x in y.pointee = Float(bitPattern: x.u32(0)) }
    case .F16: return { y, x in y.pointee = x.half(0) }
    case .BF16: return { y, x in y.pointee = Float(bitPattern: UInt32(x.u16(0)) << 16) }
    case .Q8_0: return dequantizeQ8_0
    case .Q4_0: return dequantizeQ4_0
    case .Q4_1: return dequantizeQ4_1
    case .Q5_0: return dequantizeQ5_0
    case .Q5_1: return dequantizeQ5_1
    case .Q2_K: return dequantizeQ2_K
    case .Q3_K: return dequantizeQ3_K
    case .Q4_K: return dequantizeQ4_K
    case .Q5_K: return dequantizeQ5_K
    case .Q6_K: return dequantizeQ6_K
    default: return nil
    }
}

/// block_q8_0 (34 bytes, 32 weights): half d, int8 q[32]. y = q·d.
func dequantizeQ8_0(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeRawPointer) {
    let d = x.half(0)
    for i in 0..<32 { y[i] = Float(Int8(bitPattern: x.u8(2 + i))) * d }
}

/// block_q4_0 (18 bytes, 32 weights): half d, 16 bytes of nibbles — byte j holds weight j in its
/// low nibble and weight j+16 in its high nibble. y = (q − 8)·d.
func dequantizeQ4_0(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeRawPointer) {
    let d = x.half(0)
    for j in 0..<16 {
        let byte = x.u8(2 + j)
        y[j] = Float(Int(byte & 0xF) - 8) * d
        y[j + 16] = Float(Int(byte >> 4) - 8) * d
    }
}

/// block_q4_1 (20 bytes, 32 weights): half d, half m, nibbles as Q4_0. y = q·d + m.
func dequantizeQ4_1(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeRawPointer) {
    let d = x.half(0), m = x.half(2)
    for j in 0..<16 {
        let byte = x.u8(4 + j)
        y[j] = Float(byte & 0xF) * d + m
        y[j + 16] = Float(byte >> 4) * d + m
    }
}

/// block_q5_0 (22 bytes, 32 weights): half d, uint32 qh (bit i is the 5th bit of weight i),
/// nibbles as Q4_0. y = (q − 16)·d.
func dequantizeQ5_0(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeRawPointer) {
    let d = x.half(0), qh = x.u32(2)
    for j in 0..<16 {
        let byte = x.u8(6 + j)
        let lo = Int(byte & 0xF) | Int((qh >> UInt32(j)) & 1) << 4
        let hi = Int(byte >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
        y[j] = Float(lo - 16) * d
        y[j + 16] = Float(hi - 16) * d
    }
}

/// block_q5_1 (24 bytes, 32 weights): half d, half m, uint32 qh, nibbles as Q5_0. y = q·d + m.
func dequantizeQ5_1(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeRawPointer) {
    let d = x.half(0), m = x.half(2), qh = x.u32(4)
    for j in 0..<16 {
        let byte = x.u8(8 + j)
        let lo = UInt32(byte & 0xF) | ((qh >> UInt32(j)) & 1) << 4
        let hi = UInt32(byte >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
        y[j] = Float(lo) * d + m
        y[j + 16] = Float(hi) * d + m
    }
}

extension UnsafeRawPointer {
    @inline(__always) func u8(_ offset: Int) -> UInt8 { load(fromByteOffset: offset, as: UInt8.self) }
    @inline(__always) func u16(_ offset: Int) -> UInt16 { UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    @inline(__always) func u32(_ offset: Int) -> UInt32 { UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    /// An IEEE half at `offset`, widened exactly.
    @inline(__always) func half(_ offset: Int) -> Float { DTypeConversion.float16ToFloat(u16(offset)) }
}
