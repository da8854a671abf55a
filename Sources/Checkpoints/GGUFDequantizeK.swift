// K-quant super-blocks of 256 weights (ggml-common.h block_q2_K … block_q6_K; reference
// dequantize_row_q*_K in ggml-quants.c). Weight j of a super-block is read as follows: quantized
// values are packed in 32-byte lanes, lane position l = j % 32, and the group j / 32 selects the
// bit plane (which shift) and, for the 2-bit planes, which half of the block (j / 128).
// Each sub-block scale is multiplied into the half-precision super-scale first, then by q.

/// block_q2_K (84 bytes): uint8 scales[16] (low nibble scale, high nibble min, one per 16
/// weights), qs[64] (2 bits per weight), half d, half dmin. y = (d·sc)·q − dmin·m.
func dequantizeQ2_K(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeRawPointer) {
    let d = x.half(80), dmin = x.half(82)
    for j in 0..<256 {
        let packed = x.u8(16 + (j / 128) * 32 + j % 32)
        let q = Float((packed >> UInt8(2 * ((j % 128) / 32))) & 3)
        let sc = x.u8(j / 16)
        y[j] = d * Float(sc & 0xF) * q - dmin * Float(sc >> 4)
    }
}

/// block_q3_K (110 bytes): hmask[32] (bit j/32 of byte j%32 is the high bit of weight j; a set
/// bit means no −4 offset), qs[64] (low 2 bits, as Q2_K), scales[12] (sixteen 6-bit scales:
/// low nibbles in bytes 0–7, high 2-bit pairs in bytes 8–11, stored +32), half d.
/// y = (d·(s − 32))·(q − 4·(1 − h)).
func dequantizeQ3_K(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeRawPointer) {
    let d = x.half(108)
    for j in 0..<256 {
        let packed = x.u8(32 + (j / 128) * 32 + j % 32)
        let low = Int((packed >> UInt8(2 * ((j % 128) / 32))) & 3)
        let high = Int((x.u8(j % 32) >> UInt8(j / 32)) & 1)
        let s = j / 16
        let lowScale = s < 8 ? x.u8(96 + s) & 0xF : x.u8(96 + s - 8) >> 4
        let highScale = (x.u8(96 + 8 + s % 4) >> UInt8(2 * (s / 4))) & 3
        let scale = Int(lowScale | highScale << 4) - 32
        y[j] = d * Float(scale) * Float(low - (high == 1 ? 0 : 4))
    }
}

/// The 6-bit scale and min of sub-block `s` (0..<8) of a Q4_K/Q5_K block from its 12 scale bytes
/// (ggml `get_scale_min_k4`): sub-blocks 0–3 use the low 6 bits of bytes s and s+4; sub-blocks 4–7
/// take their low 4 bits from byte s+4 and their top 2 bits from the spare bits of bytes s−4 and s.
@inline(__always)
func kScaleMin(_ q: UnsafeRawPointer, _ s: Int) -> (scale: UInt8, min: UInt8) {
    if s < 4 { return (q.u8(s) & 63, q.u8(s + 4) & 63) }
    return ((q.u8(s + 4) & 0xF) | (q.u8(s - 4) >> 6) << 4, (q.u8(s + 4) >> 4) | (q.u8(s) >> 6) << 4)
}

/// block_q4_K (144 bytes): half d, half dmin, scales[12] (eight 6-bit scale/min pairs, one per 32
/// weights), qs[128] (byte 32c + l holds weight 64c + l low and 64c + 32 + l high).
/// y = (d·sc)·q − dmin·m.
func dequantizeQ4_K(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeRawPointer) {
    let d = x.half(0), dmin = x.half(2)
    for s in 0..<8 {
        let (sc, m) = kScaleMin(x + 4, s)
        let scale = d * Float(sc), offset = dmin * Float(m)
        for l in 0..<32 {
            let q = (x.u8(16 + (s / 2) * 32 + l) >> UInt8(4 * (s % 2))) & 0xF
            y[s * 32 + l] = scale * Float(q) - offset
        }
    }
}

/// block_q5_K (176 bytes): half d, half dmin, scales[12] as Q4_K, qh[32] (bit s of byte l is the
/// 5th bit of weight 32s + l), qs[128] as Q4_K. y = (d·sc)·q − dmin·m.
func dequantizeQ5_K(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeRawPointer) {
    let d = x.half(0), dmin = x.half(2)
    for s in 0..<8 {
        let (sc, m) = kScaleMin(x + 4, s)
        let scale = d * Float(sc), offset = dmin * Float(m)
        for l in 0..<32 {
            let low = (x.u8(48 + (s / 2) * 32 + l) >> UInt8(4 * (s % 2))) & 0xF
            let high = (x.u8(16 + l) >> UInt8(s)) & 1
            y[s * 32 + l] = scale * Float(low | high << 4) - offset
        }
    }
}

/// block_q6_K (210 bytes): ql[128] (low 4 bits: byte 64h + l holds weight 128h + l low and
/// 128h + 64 + l high), qh[64] (top 2 bits: byte 32h + l holds weights 128h + 32p + l in bit pair p),
/// int8 scales[16] (one per 16 weights), half d. y = (d·sc)·(q − 32).
func dequantizeQ6_K(_ y: UnsafeMutablePointer<Float>, _ x: UnsafeRawPointer) {
    let d = x.half(208)
    for j in 0..<256 {
        let h = j / 128, w = j % 128
        let low = (x.u8(64 * h + w % 64) >> UInt8(4 * (w / 64))) & 0xF
        let high = (x.u8(128 + 32 * h + w % 32) >> UInt8(2 * (w / 32))) & 3
        let sc = Int8(bitPattern: x.u8(192 + j / 16))
        y[j] = d * Float(sc) * Float(Int(low | high << 4) - 32)
    }
}
