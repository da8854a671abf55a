/// Conversions between stored little-endian element types and Float32.
/// Loops are plain and branch-free per type so the optimizer vectorises them.
public enum DTypeConversion {
    /// Converts `src` bytes holding `dtype` values into `dst` floats.
    public static func load(_ src: UnsafeRawBufferPointer, as dtype: DType, into dst: UnsafeMutableBufferPointer<Float>) {
        let n = dst.count
        precondition(src.count == n * dtype.byteSize, "DTypeConversion.load: byte count mismatch")
        guard n > 0, let base = src.baseAddress, let out = dst.baseAddress else { return }
        switch dtype {
        case .F32:
            out.update(from: base.assumingMemoryBound(to: Float.self), count: n)
        case .F64:
            let p = base.assumingMemoryBound(to: Double.self)
            for i in 0..<n { out[i] = Float(p[i]) }
        case .F16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { out[i] = float16ToFloat(p[i]) }
        case .BF16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { out[i] = Float(bitPattern: UInt32(p[i]) << 16) }
        case .I64:
            let p = base.assumingMemoryBound(to: Int64.self)
            for i in 0..<n { out[i] = Float(p[i]) }
        case .I32:
            let p = base.assumingMemoryBound(to: Int32.self)
            for i in 0..<n { out[i] = Float(p[i]) }
        case .I16:
            let p = base.assumingMemoryBound(to: Int16.self)
            for i in 0..<n { out[i] = Float(p[i]) }
        case .I8:
            let p = base.assumingMemoryBound(to: Int8.self)
            for i in 0..<n { out[i] = Float(p[i]) }
        case .U8, .BOOL:
            let p = base.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { out[i] = Float(p[i]) }
        case .F8_E4M3:
            let p = base.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { out[i] = float8E4M3ToFloat(p[i]) }
        case .F8_E5M2:
            let p = base.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { out[i] = float16ToFloat(UInt16(p[i]) << 8) }
        }
    }

    /// Stores floats as `dtype` into `dst` (F16/BF16 round to nearest even; integers round and saturate).
    public static func store(_ src: UnsafeBufferPointer<Float>, as dtype: DType, into dst: UnsafeMutableRawBufferPointer) {
        let n = src.count
        precondition(dst.count == n * dtype.byteSize, "DTypeConversion.store: byte count mismatch")
        guard n > 0, let inp = src.baseAddress, let base = dst.baseAddress else { return }
        switch dtype {
        case .F32:
            base.assumingMemoryBound(to: Float.self).update(from: inp, count: n)
        case .F64:
            let p = base.assumingMemoryBound(to: Double.self)
            for i in 0..<n { p[i] = Double(inp[i]) }
        case .F16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { p[i] = floatToFloat16(inp[i]) }
        case .BF16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { p[i] = floatToBFloat16(inp[i]) }
        case .I64:
            let p = base.assumingMemoryBound(to: Int64.self)
            for i in 0..<n { p[i] = Int64(saturating(inp[i], -9.2233720e18, 9.2233720e18)) }
        case .I32:
            let p = base.assumingMemoryBound(to: Int32.self)
            for i in 0..<n { p[i] = Int32(saturating(inp[i], -2147483648, 2147483520)) }
        case .I16:
            let p = base.assumingMemoryBound(to: Int16.self)
            for i in 0..<n { p[i] = Int16(saturating(inp[i], -32768, 32767)) }
        case .I8:
            let p = base.assumingMemoryBound(to: Int8.self)
            for i in 0..<n { p[i] = Int8(saturating(inp[i], -128, 127)) }
        case .U8:
            let p = base.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { p[i] = UInt8(saturating(inp[i], 0, 255)) }
        case .BOOL:
            let p = base.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { p[i] = inp[i] != 0 ? 1 : 0 }
        case .F8_E4M3, .F8_E5M2:
            preconditionFailure("DTypeConversion.store: \(dtype) is read-only (check DType.isWritableFromFloat)")
        }
    }

    @inline(__always)
    static func saturating(_ x: Float, _ lo: Float, _ hi: Float) -> Float {
        x.isNaN ? 0 : min(max(x.rounded(.toNearestOrEven), lo), hi)
    }

    /// IEEE binary16 → binary32 (exact).
    @inline(__always)
    public static func float16ToFloat(_ h: UInt16) -> Float {
        #if arch(x86_64) || arch(arm64)
        return Float(Float16(bitPattern: h))
        #else
        return Float(bitPattern: halfBitsToFloatBits(h))
        #endif
    }

    /// binary32 → binary16, round to nearest even (the hardware conversion).
    @inline(__always)
    public static func floatToFloat16(_ f: Float) -> UInt16 {
        Float16(f).bitPattern
    }

    /// binary32 → bfloat16, round to nearest even; NaN stays a quiet NaN.
    @inline(__always)
    public static func floatToBFloat16(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x0040) }
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// float8 e4m3fn (no infinities; S.1111.111 is NaN; exponent bias 7).
    @inline(__always)
    public static func float8E4M3ToFloat(_ b: UInt8) -> Float {
        let sign: Float = (b & 0x80) != 0 ? -1 : 1
        let exponent = Int((b >> 3) & 0x0F)
        let mantissa = Float(b & 0x07)
        if exponent == 0x0F && (b & 0x07) == 0x07 { return .nan }
        if exponent == 0 { return sign * mantissa / 8 * 0.015625 }   // subnormal: m/8 · 2^-6
        return sign * (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
    }

    #if !(arch(x86_64) || arch(arm64))
    static func halfBitsToFloatBits(_ h: UInt16) -> UInt32 {
        let sign = UInt32(h & 0x8000) << 16
        var exponent = Int32((h >> 10) & 0x1F)
        var mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F { return sign | 0x7F80_0000 | (mantissa << 13) }
        if exponent == 0 {
            if mantissa == 0 { return sign }
            exponent = 1
            while mantissa & 0x400 == 0 { mantissa <<= 1; exponent -= 1 }
            mantissa &= 0x3FF
        }
        return sign | UInt32(exponent + 112) << 23 | (mantissa << 13)
    }
    #endif
}
