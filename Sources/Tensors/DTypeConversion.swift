#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import CSIMD

/// Conversions between stored little-endian element types and Float32.
/// Each element loop is branch-free (selects, no calls) so the optimizer vectorises it; F16/BF16
/// loops first run CSIMD's AVX2/F16C versions (when the CPU has them) and finish here; large
/// buffers are split over the cores. The scalar bit-level functions below are the single source
/// of truth and are tested against PyTorch (fixtures/safetensors/dtype_reference.safetensors).
public enum DTypeConversion {
    /// Buffers with at least this many elements are converted in parallel chunks.
    public static var parallelThreshold = 1 << 20

    /// Converts `src` bytes holding `dtype` values into `dst` floats.
    public static func load(_ src: UnsafeRawBufferPointer, as dtype: DType, into dst: UnsafeMutableBufferPointer<Float>) {
        let n = dst.count
        precondition(src.count == n * dtype.byteSize, "DTypeConversion.load: byte count mismatch")
        guard n > 0, let base = src.baseAddress, let out = dst.baseAddress else { return }
        chunked(n) { range in
            loadChunk(base + range.lowerBound * dtype.byteSize, dtype, out + range.lowerBound, range.count)
        }
    }

    /// Stores floats as `dtype` into `dst` (F16/BF16 round to nearest even; integers round and saturate).
    public static func store(_ src: UnsafeBufferPointer<Float>, as dtype: DType, into dst: UnsafeMutableRawBufferPointer) {
        let n = src.count
        precondition(dst.count == n * dtype.byteSize, "DTypeConversion.store: byte count mismatch")
        precondition(dtype.isWritableFromFloat, "DTypeConversion.store: \(dtype) is read-only (check DType.isWritableFromFloat)")
        guard n > 0, let inp = src.baseAddress, let base = dst.baseAddress else { return }
        chunked(n) { range in
            storeChunk(inp + range.lowerBound, dtype, base + range.lowerBound * dtype.byteSize, range.count)
        }
    }

    /// Runs `body` over `0..<n`, in parallel chunks of whole cache lines when `n` is large.
    static func chunked(_ n: Int, _ body: (Range<Int>) -> Void) {
        let workers = n >= parallelThreshold ? min(8, ProcessInfoCores.count) : 1
        guard workers > 1 else { body(0..<n); return }
        let chunks = workers * 4
        let step = ((n + chunks - 1) / chunks + 63) & ~63
        DispatchQueue.concurrentPerform(iterations: (n + step - 1) / step) { k in
            body(k * step..<min(n, (k + 1) * step))
        }
    }

    static func loadChunk(_ base: UnsafeRawPointer, _ dtype: DType, _ out: UnsafeMutablePointer<Float>, _ n: Int) {
        switch dtype {
        case .F32:
            out.update(from: base.assumingMemoryBound(to: Float.self), count: n)
        case .F64:
            let p = base.assumingMemoryBound(to: Double.self)
            for i in 0..<n { out[i] = Float(p[i]) }
        case .F16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for i in csimd_f16_to_f32(p, out, n)..<n { out[i] = float16ToFloat(p[i]) }
        case .BF16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for i in csimd_bf16_to_f32(p, out, n)..<n { out[i] = Float(bitPattern: UInt32(p[i]) << 16) }
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
            float8E4M3Table.withUnsafeBufferPointer { table in for i in 0..<n { out[i] = table[Int(p[i])] } }
        case .F8_E5M2:
            let p = base.assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { out[i] = float16ToFloat(UInt16(p[i]) << 8) }   // e5m2 is the top byte of a binary16
        }
    }

    static func storeChunk(_ inp: UnsafePointer<Float>, _ dtype: DType, _ base: UnsafeMutableRawPointer, _ n: Int) {
        switch dtype {
        case .F32:
            base.assumingMemoryBound(to: Float.self).update(from: inp, count: n)
        case .F64:
            let p = base.assumingMemoryBound(to: Double.self)
            for i in 0..<n { p[i] = Double(inp[i]) }
        case .F16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for i in csimd_f32_to_f16(inp, p, n)..<n { p[i] = floatToFloat16(inp[i]) }
        case .BF16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for i in csimd_f32_to_bf16(inp, p, n)..<n { p[i] = floatToBFloat16(inp[i]) }
        case .I64:
            // 9223371487098961920 = 2^63 - 2^39, the largest Float below 2^63 (2^63 itself overflows Int64).
            let p = base.assumingMemoryBound(to: Int64.self)
            for i in 0..<n { p[i] = Int64(saturating(inp[i], -9.223372e18, 9223371487098961920)) }
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
            for i in 0..<n { p[i] = inp[i] != 0 ? 1 : 0 }   // NaN is truthy, as in torch
        case .F8_E4M3, .F8_E5M2:
            preconditionFailure("unreachable: checked in store")
        }
    }

    /// Round to nearest even, clamp to [lo, hi]; NaN becomes 0.
    @inline(__always)
    static func saturating(_ x: Float, _ lo: Float, _ hi: Float) -> Float {
        x.isNaN ? 0 : min(max(x.rounded(.toNearestOrEven), lo), hi)
    }

    /// IEEE binary16 → binary32, exact; signalling NaNs become quiet (subnormals via a float
    /// subtraction; F. Giesen, "half_to_float"). All-UInt32 selects, so loops over it vectorise.
    @inline(__always)
    public static func float16ToFloat(_ half: UInt16) -> Float {
        let h = UInt32(half)
        let magnitude = (h & 0x7FFF) << 13
        let exponent = magnitude & 0x0F80_0000
        let normal = magnitude &+ (112 << 23)                                      // rebias 15 → 127
        let quiet: UInt32 = (magnitude & 0x007F_FFFF) != 0 ? 0x0040_0000 : 0       // a NaN comes out quiet (as F16C, torch)
        let special = (normal &+ (112 << 23)) | quiet                              // inf / NaN: exponent 255
        let subnormal = (Float(bitPattern: magnitude &+ (113 << 23)) - Float(bitPattern: 113 << 23)).bitPattern
        var bits = exponent == 0x0F80_0000 ? special : normal
        bits = exponent == 0 ? subnormal : bits
        return Float(bitPattern: bits | ((h & 0x8000) << 16))
    }

    /// binary32 → binary16, round to nearest even, overflow to ±inf; a NaN keeps its sign and top
    /// payload bits and becomes quiet (as the F16C instruction and torch do).
    /// F. Giesen, "float_to_half_fast3_rtne"; all-UInt32 selects so loops over it vectorise.
    @inline(__always)
    public static func floatToFloat16(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        let sign = (bits >> 16) & 0x8000
        let magnitude = bits & 0x7FFF_FFFF
        // subnormal or zero: let the FPU round by adding 0.5 (aligns the mantissa at bit 0)
        let subnormal = (Float(bitPattern: magnitude) + 0.5).bitPattern &- 0x3F00_0000
        // normal: rebias and round the 13 dropped bits to nearest even
        let odd = (magnitude >> 13) & 1
        let normal = (magnitude &- (112 << 23) &+ 0xFFF &+ odd) >> 13
        var result = magnitude < 0x3880_0000 ? subnormal : normal                  // < 2^-14: subnormal
        result = magnitude >= 0x4780_0000 ? 0x7C00 : result                        // ≥ 65520 rounds to inf
        result = magnitude > 0x7F80_0000 ? (0x7E00 | ((magnitude >> 13) & 0x3FF)) : result
        return UInt16(truncatingIfNeeded: result | sign)
    }

    /// binary32 → bfloat16, round to nearest even (overflow rounds to ±inf). A NaN stays a NaN with
    /// its sign and the quiet bit set (torch's CPU kernel returns 0xFFFF, c10's scalar path 0x7FC0).
    @inline(__always)
    public static func floatToBFloat16(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        let rounded = UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
        let nan = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        return f.isNaN ? nan : rounded
    }

    /// float8 e4m3fn (no infinities; S.1111.111 is NaN; exponent bias 7).
    public static func float8E4M3ToFloat(_ b: UInt8) -> Float {
        let sign: Float = (b & 0x80) != 0 ? -1 : 1
        let exponent = Int((b >> 3) & 0x0F)
        let mantissa = Float(b & 0x07)
        if exponent == 0x0F && (b & 0x07) == 0x07 { return (b & 0x80) != 0 ? -Float.nan : .nan }
        if exponent == 0 { return sign * mantissa / 8 * 0.015625 }   // subnormal: m/8 · 2^-6
        return sign * (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
    }

    /// float8 e5m2 (IEEE-like: bias 15, infinities and NaNs) — the top byte of a binary16.
    public static func float8E5M2ToFloat(_ b: UInt8) -> Float { float16ToFloat(UInt16(b) << 8) }

    static let float8E4M3Table: [Float] = (0...255).map { float8E4M3ToFloat(UInt8($0)) }
}

/// Active processor count without Foundation (Tensors stays Foundation-free).
enum ProcessInfoCores {
    static let count: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return max(1, Int(sysconf(_SC_NPROCESSORS_ONLN)))
        #endif
    }()
}
