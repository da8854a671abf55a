/// Blockwise NF4 quantization as bitsandbytes' `quantize_4bit` does it on CPU
/// (`bitsandbytes/backends/default/ops.py`, ALGORITHMS.md §5.2):
///   absmax_b = max |w| over the block of `blockSize` consecutive values
///   full block:  x = clamp(w · (1 / max(absmax_b, 1e-38)), −1, 1)   (absmax stored unclamped)
///   short last:  x = clamp(w / max(absmax_b, 1e-38), −1, 1)           (absmax stored clamped)
///   code = #{NF4 midpoints m : m < x}; byte k = code[2k] << 4 | code[2k+1]; an odd length is padded
///   with the value 0 (code 7).
/// Shapes: input [n] floats, packed [(n+1)/2] bytes, absmax [ceil(n / blockSize)] floats.
/// `nf4Quantize` is the fast path (8 lanes at a time); `nf4QuantizeNaive` is its test oracle.

/// Smallest divisor bitsandbytes uses, so an all-zero block maps to code 7 (value 0), not NaN.
let nf4TinyAbsmax: Float = 1e-38

public func nf4QuantizeNaive(packed: UnsafeMutablePointer<UInt8>, absmax: UnsafeMutablePointer<Float>,
                             input: UnsafePointer<Float>, count n: Int, blockSize: Int) {
    var codes = [UInt8](repeating: 7, count: n + n % 2)
    var b = 0
    for start in stride(from: 0, to: n, by: blockSize) {
        let end = min(start + blockSize, n)
        var m: Float = 0
        for i in start..<end { m = max(m, abs(input[i])) }
        let isShortLast = end - start < blockSize
        let divisor = max(m, nf4TinyAbsmax)
        absmax[b] = isShortLast ? divisor : m
        let reciprocal = 1 / divisor
        for i in start..<end {
            let x = min(max(isShortLast ? input[i] / divisor : input[i] * reciprocal, -1), 1)
            codes[i] = UInt8(NF4.midpoints.filter { $0 < x }.count)
        }
        b += 1
    }
    for k in 0..<(n + 1) / 2 { packed[k] = codes[2 * k] << 4 | codes[2 * k + 1] }
}

/// Fast path. `count` may be any length; blocks are independent, so callers may quantize a long
/// tensor in pieces that start on a block boundary (the pass streams in chunks this way).
public func nf4Quantize(packed: UnsafeMutablePointer<UInt8>, absmax: UnsafeMutablePointer<Float>,
                        input: UnsafePointer<Float>, count n: Int, blockSize: Int) {
    precondition(blockSize % 16 == 0, "nf4Quantize: block size \(blockSize) must be a multiple of 16")
    let fullBlocks = n / blockSize
    for b in 0..<fullBlocks {
        let start = b * blockSize
        let m = absMax(input + start, blockSize)
        absmax[b] = m
        encodeFull(packed + start / 2, input + start, blockSize, reciprocal: 1 / max(m, nf4TinyAbsmax))
    }
    let start = fullBlocks * blockSize
    if start < n {
        // Short last block: bitsandbytes divides here instead of multiplying by the reciprocal.
        let divisor = max(absMax(input + start, n - start), nf4TinyAbsmax)
        absmax[fullBlocks] = divisor
        var i = start
        while i < n {
            let hi = NF4.code(min(max(input[i] / divisor, -1), 1))
            let lo: UInt8 = i + 1 < n ? NF4.code(min(max(input[i + 1] / divisor, -1), 1)) : 7
            packed[i / 2] = hi << 4 | lo
            i += 2
        }
    }
}

@inline(__always)
func absMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= n {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
        acc = pointwiseMax(acc, pointwiseMax(v, -v))
        i += 8
    }
    var m = acc.max()
    while i < n { m = max(m, abs(p[i])); i += 1 }
    return m
}

/// Encodes `n` (a multiple of 16) values scaled by `reciprocal` into n/2 bytes.
@inline(__always)
func encodeFull(_ out: UnsafeMutablePointer<UInt8>, _ p: UnsafePointer<Float>, _ n: Int, reciprocal: Float) {
    let r = SIMD16<Float>(repeating: reciprocal)
    let lower = SIMD16<Float>(repeating: -1), upper = SIMD16<Float>(repeating: 1)
    var i = 0
    while i < n {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
        let x = pointwiseMin(pointwiseMax(v * r, lower), upper)
        let c = nf4Codes(x)
        // Even element → high nibble.
        let even = SIMD8<UInt8>(c[0], c[2], c[4], c[6], c[8], c[10], c[12], c[14])
        let odd = SIMD8<UInt8>(c[1], c[3], c[5], c[7], c[9], c[11], c[13], c[15])
        UnsafeMutableRawPointer(out + i / 2).storeBytes(of: (even &<< 4) | odd, as: SIMD8<UInt8>.self)
        i += 16
    }
}

/// code = #{m : m < x} for 16 lanes (15 compares, vectorised).
@inline(__always)
func nf4Codes(_ x: SIMD16<Float>) -> SIMD16<UInt8> {
    var c = SIMD16<Int32>(repeating: 0)
    let one = SIMD16<Int32>(repeating: 1)
    for k in 0..<15 {
        c &+= SIMD16<Int32>(repeating: 0).replacing(with: one, where: x .> nf4MidpointSplats[k])
    }
    return SIMD16<UInt8>(truncatingIfNeeded: c)
}

/// The midpoints broadcast once, so the hot loop does not touch the array machinery.
let nf4MidpointSplats: [SIMD16<Float>] = NF4.midpoints.map { SIMD16<Float>(repeating: $0) }

/// w = NF4[code] · absmax_b in Float32 (ALGORITHMS.md §5.3); high nibble → element 2k.
public func nf4DequantizeNaive(output: UnsafeMutablePointer<Float>, packed: UnsafePointer<UInt8>,
                               absmax: UnsafePointer<Float>, count n: Int, blockSize: Int) {
    for i in 0..<n {
        let byte = packed[i / 2]
        let code = i % 2 == 0 ? byte >> 4 : byte & 0x0F
        output[i] = NF4.values[Int(code)] * absmax[i / blockSize]
    }
}

public func nf4Dequantize(output: UnsafeMutablePointer<Float>, packed: UnsafePointer<UInt8>,
                          absmax: UnsafePointer<Float>, count n: Int, blockSize: Int) {
    NF4.values.withUnsafeBufferPointer { table in
        var start = 0
        var b = 0
        while start < n {
            let end = min(start + blockSize, n)
            let scale = absmax[b]
            var i = start
            while i + 1 < end {
                let byte = packed[i / 2]
                output[i] = table[Int(byte >> 4)] * scale
                output[i + 1] = table[Int(byte & 0x0F)] * scale
                i += 2
            }
            if i < end { output[i] = table[Int(packed[i / 2] >> 4)] * scale }
            start = end
            b += 1
        }
    }
}
