/// Blockwise 8-bit quantization onto the DYNAMIC8 map (double quantization, ALGORITHMS.md §5.4):
///   absmax_b = max |v| over the block;  x = v / absmax_b
///   code = the nearest map entry (Float32 distances), ties to the lower index.
/// bitsandbytes 0.50's native CPU kernel (`cquantize_blockwise_cpu_fp32`) agrees on all but ≈ 0.1 %
/// of values, where it picks the farther of the two neighbouring entries (measured in
/// tools/reference/quant_reference.py); we keep the exact nearest entry and the tests pin that rule.
/// An all-equal block (absmax 0, x = 0/0) gets code 0, as bitsandbytes' search returns.
/// Shapes: input [n], codes [n], absmax [ceil(n / blockSize)].
public func dynamic8Quantize(codes: UnsafeMutablePointer<UInt8>, absmax: UnsafeMutablePointer<Float>,
                             input: UnsafePointer<Float>, count n: Int, blockSize: Int) {
    Dynamic8.values.withUnsafeBufferPointer { map in
        var b = 0
        for start in stride(from: 0, to: n, by: blockSize) {
            let end = min(start + blockSize, n)
            var m: Float = 0
            for i in start..<end { m = max(m, abs(input[i])) }
            absmax[b] = m
            for i in start..<end { codes[i] = dynamic8Code(input[i] / m, map) }
            b += 1
        }
    }
}

/// Nearest entry of a sorted map, ties to the lower index; NaN → 0.
@inline(__always)
func dynamic8Code(_ x: Float, _ map: UnsafeBufferPointer<Float>) -> UInt8 {
    guard !x.isNaN else { return 0 }
    if x <= map[0] { return 0 }
    precondition(map.count == 256)
    // Largest lo with map[lo] ≤ x, by eight branch-free halvings (the map is strictly increasing and
    // map[0] < x); a data-dependent branch here mispredicted on every other step.
    var lo = 0, step = 128
    while step > 0 {
        lo = map[lo + step] <= x ? lo + step : lo
        step >>= 1
    }
    if lo < map.count - 1, abs(x - map[lo + 1]) < abs(x - map[lo]) { return UInt8(lo + 1) }
    return UInt8(lo)
}

/// v = DYNAMIC8[code] · absmax_b (Float32).
public func dynamic8Dequantize(output: UnsafeMutablePointer<Float>, codes: UnsafePointer<UInt8>,
                               absmax: UnsafePointer<Float>, count n: Int, blockSize: Int) {
    Dynamic8.values.withUnsafeBufferPointer { map in
        for i in 0..<n { output[i] = map[Int(codes[i])] * absmax[i / blockSize] }
    }
}
