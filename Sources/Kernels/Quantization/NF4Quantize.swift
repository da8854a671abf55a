import CSIMD

/// Blockwise NF4 quantization as bitsandbytes' `quantize_4bit` does it on CPU
/// (`bitsandbytes/backends/default/ops.py`, ALGORITHMS.md §5.2):
///   absmax_b = max |w| over the block of `blockSize` consecutive values
///   full block:  x = clamp(w · (1 / max(absmax_b, 1e-38)), −1, 1)   (absmax stored unclamped)
///   short last:  x = clamp(w / max(absmax_b, 1e-38), −1, 1)           (absmax stored clamped)
///   code = #{NF4 midpoints m : m < x}; byte k = code[2k] << 4 | code[2k+1]; an odd length is padded
///   with the value 0 (code 7).
/// Shapes: input [n] floats, packed [(n+1)/2] bytes, absmax [ceil(n / blockSize)] floats.
/// `nf4Quantize` is the fast path (CSIMD's AVX2 kernel, then the Swift loop); `nf4QuantizeNaive` is
/// the test oracle of both.

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
/// Full blocks go through CSIMD's AVX2 kernel when the CPU has it (Sources/CSIMD/nf4.c); the rest,
/// and everything on other CPUs, through `nf4QuantizeScalar`, the definition it equals.
public func nf4Quantize(packed: UnsafeMutablePointer<UInt8>, absmax: UnsafeMutablePointer<Float>,
                        input: UnsafePointer<Float>, count n: Int, blockSize: Int) {
    precondition(blockSize % 2 == 0, "nf4Quantize: block size \(blockSize) must be even")
    let done = NF4.midpoints.withUnsafeBufferPointer {
        csimd_nf4_quantize(packed, absmax, input, n, blockSize, $0.baseAddress!, nf4TinyAbsmax)
    }
    nf4QuantizeScalar(packed: packed + done / 2, absmax: absmax + done / blockSize, input: input + done,
                      count: n - done, blockSize: blockSize)
}

/// The Swift twin of the CSIMD kernel, and the short last block. Full blocks go in runs of ≈ 2048
/// values through three plain loops the compiler vectorises at the baseline target: scale and clamp,
/// count the midpoints below each value (15 passes), pack nibble pairs.
func nf4QuantizeScalar(packed: UnsafeMutablePointer<UInt8>, absmax: UnsafeMutablePointer<Float>,
                       input: UnsafePointer<Float>, count n: Int, blockSize: Int) {
    let fullBlocks = n / blockSize
    let blocksPerRun = max(1, 2048 / blockSize)
    let capacity = blocksPerRun * blockSize
    let scaled = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
    let codes = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)   // Int32: no mask narrowing per pass
    defer { scaled.deallocate(); codes.deallocate() }
    NF4.midpoints.withUnsafeBufferPointer { mids in
        var b = 0
        while b < fullBlocks {
            let runBlocks = min(blocksPerRun, fullBlocks - b)
            let start = b * blockSize, count = runBlocks * blockSize
            for r in 0..<runBlocks {
                let p = input + start + r * blockSize
                let m = absMax(p, blockSize)
                absmax[b + r] = m
                let reciprocal = 1 / max(m, nf4TinyAbsmax)
                let out = scaled + r * blockSize
                for j in 0..<blockSize { out[j] = min(max(p[j] * reciprocal, -1), 1) }
            }
            for j in 0..<count { codes[j] = 0 }
            for k in 0..<15 {
                let mk = mids[k]
                for j in 0..<count { codes[j] &+= scaled[j] > mk ? 1 : 0 }
            }
            let out = packed + start / 2
            for j in 0..<(count / 2) { out[j] = UInt8(truncatingIfNeeded: codes[2 * j] << 4 | codes[2 * j + 1]) }
            b += runBlocks
        }
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

/// The absmax `nf4Quantize` stores, without the codes (full blocks: max |w|; a short last block: that
/// clamped to 1e-38). A pass needs it ahead of quantizing for the double-quantization offset.
public func nf4BlockAbsmax(absmax: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count n: Int, blockSize: Int) {
    let done = csimd_nf4_absmax(absmax, input, n, blockSize)
    var b = done / blockSize
    for start in stride(from: done, to: n, by: blockSize) {
        let m = absMax(input + start, min(blockSize, n - start))
        absmax[b] = start + blockSize <= n ? m : max(m, nf4TinyAbsmax)
        b += 1
    }
}

/// max |p[i]|, with eight independent maxima (5× faster here than one chain or generic SIMD8).
@inline(__always)
func absMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var a = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
    var i = 0
    while i + 8 <= n {
        a.0 = max(a.0, abs(p[i])); a.1 = max(a.1, abs(p[i + 1])); a.2 = max(a.2, abs(p[i + 2])); a.3 = max(a.3, abs(p[i + 3]))
        a.4 = max(a.4, abs(p[i + 4])); a.5 = max(a.5, abs(p[i + 5])); a.6 = max(a.6, abs(p[i + 6])); a.7 = max(a.7, abs(p[i + 7]))
        i += 8
    }
    var m = max(max(max(a.0, a.1), max(a.2, a.3)), max(max(a.4, a.5), max(a.6, a.7)))
    while i < n { m = max(m, abs(p[i])); i += 1 }
    return m
}

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
            if start % 2 == 0 {   // whole bytes through CSIMD's AVX2 loop first (a block may start mid-byte if odd)
                i += 2 * csimd_nf4_dequantize_pairs(output + i, packed + i / 2, (end - i) / 2, scale, table.baseAddress!)
            }
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
