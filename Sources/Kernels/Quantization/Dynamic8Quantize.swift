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
        Dynamic8.bucketStart.withUnsafeBufferPointer { buckets in
            var b = 0
            for start in stride(from: 0, to: n, by: blockSize) {
                let end = min(start + blockSize, n)
                var m: Float = 0
                for i in start..<end { m = max(m, abs(input[i])) }
                absmax[b] = m
                for i in start..<end { codes[i] = dynamic8CodeFromBucket(input[i] / m, map, buckets) }
                b += 1
            }
        }
    }
}

extension Dynamic8 {
    /// A key that orders Floats as their values do (NaNs aside): sign-magnitude bits to unsigned order.
    @inline(__always)
    static func orderKey(_ x: Float) -> UInt32 {
        let bits = x.bitPattern
        return bits & 0x8000_0000 == 0 ? bits | 0x8000_0000 : ~bits
    }

    /// For each bucket of Floats sharing the top 16 bits of `orderKey` (1/128 of an octave): the
    /// largest index whose value is ≤ the bucket's smallest Float (0 when none is), so a search
    /// starting there steps forward at most once (the map's entries are further apart than that).
    static let bucketStart: [UInt8] = (0..<(1 << 16)).map { k in
        let key = UInt32(k) << 16
        let smallest = Float(bitPattern: key & 0x8000_0000 != 0 ? key & 0x7FFF_FFFF : ~key)
        if smallest.isNaN { return key & 0x8000_0000 != 0 ? 255 : 0 }
        return values.withUnsafeBufferPointer { map in smallest <= map[0] ? 0 : UInt8(dynamic8LargestAtMost(smallest, map)) }
    }
}

/// Largest lo with map[lo] ≤ x, for a strictly increasing map of 256 entries and map[0] < x.
@inline(__always)
func dynamic8LargestAtMost(_ x: Float, _ map: UnsafeBufferPointer<Float>) -> Int {
    precondition(map.count == 256)
    var lo = 0, step = 128
    while step > 0 {   // eight branch-free halvings
        lo = map[lo + step] <= x ? lo + step : lo
        step >>= 1
    }
    return lo
}

/// `dynamic8Code` on `Dynamic8.values`, starting from the bucket's index instead of a full search
/// (the same result: the start is never past the answer, and the loop walks to it).
@inline(__always)
func dynamic8CodeFromBucket(_ x: Float, _ map: UnsafeBufferPointer<Float>, _ buckets: UnsafeBufferPointer<UInt8>) -> UInt8 {
    guard !x.isNaN else { return 0 }
    if x <= map[0] { return 0 }
    var lo = Int(buckets[Int(Dynamic8.orderKey(x) >> 16)])
    while lo < 255, map[lo + 1] <= x { lo += 1 }
    if lo < 255, abs(x - map[lo + 1]) < abs(x - map[lo]) { return UInt8(lo + 1) }
    return UInt8(lo)
}

/// Nearest entry of a sorted map, ties to the lower index; NaN → 0.
@inline(__always)
func dynamic8Code(_ x: Float, _ map: UnsafeBufferPointer<Float>) -> UInt8 {
    guard !x.isNaN else { return 0 }
    if x <= map[0] { return 0 }
    let lo = dynamic8LargestAtMost(x, map)
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
