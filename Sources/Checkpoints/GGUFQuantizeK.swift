import Tensors

// K-quant quantizers (256-weight super-blocks): Q4_K and Q6_K, as llama.cpp's Q4_K_M mix uses them.
// Ports of ggml-quants.c `quantize_row_q4_K_ref` / `quantize_row_q6_K_ref` and their helpers
// (`make_qkx2_quants`, `make_qx_quants`, `nearest_int`) with the same Float32 operations in the same
// order (sums accumulated left to right), so the result is llama-quantize's without an imatrix.
// Layouts as in GGUFDequantizeK.swift.

/// ggml's `nearest_int`: round half to even through the 1.5·2^23 trick (|x| ≤ 2^22).
@inline(__always) func nearestInt(_ x: Float) -> Int {
    guard x.isFinite, abs(x) <= 4_194_303 else { return x > 0 ? 4_194_303 : (x < 0 ? -4_194_303 : 0) }
    let bits = (x + 12_582_912).bitPattern
    return Int(bits & 0x007F_FFFF) - 0x0040_0000
}

/// `make_qkx2_quants`: a scale and a (negated) minimum for `n` weights at levels 0…nmax, searching
/// `nstep + 1` candidate scales around the min–max one for the least weighted squared error.
/// Writes the levels to `L`; returns (scale, −min).
func makeQKX2Quants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                    _ L: UnsafeMutablePointer<UInt8>, _ Laux: UnsafeMutablePointer<UInt8>,
                    rmin: Float, rdelta: Float, nstep: Int) -> (scale: Float, negMin: Float) {
    var min = x[0], max = x[0]
    var sumW = weights[0]
    var sumX = sumW * x[0]
    for i in 1..<n {
        if x[i] < min { min = x[i] }
        if x[i] > max { max = x[i] }
        let w = weights[i]
        sumW += w
        sumX += w * x[i]
    }
    if min > 0 { min = 0 }
    if max == min {
        for i in 0..<n { L[i] = 0 }
        return (0, -min)
    }
    let fmax = Float(nmax)
    var iscale = fmax / (max - min)
    var scale = 1 / iscale
    var bestError: Float = 0
    for i in 0..<n {
        let l = nearestInt(iscale * (x[i] - min))
        L[i] = UInt8(Swift.max(0, Swift.min(nmax, l)))
        let diff = scale * Float(L[i]) + min - x[i]
        bestError += weights[i] * (diff * diff)
    }
    if nstep < 1 { return (scale, -min) }
    for step in 0...nstep {
        iscale = (rmin + rdelta * Float(step) + fmax) / (max - min)
        var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
        for i in 0..<n {
            let l = Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[i] - min))))
            Laux[i] = UInt8(l)
            let w = weights[i], fl = Float(l)
            sumL += w * fl
            sumL2 += w * fl * fl
            sumXL += w * fl * x[i]
        }
        let D = sumW * sumL2 - sumL * sumL
        guard D > 0 else { continue }
        var thisScale = (sumW * sumXL - sumX * sumL) / D
        var thisMin = (sumL2 * sumX - sumL * sumXL) / D
        if thisMin > 0 {
            thisMin = 0
            thisScale = sumXL / sumL2
        }
        var error: Float = 0
        for i in 0..<n {
            let diff = thisScale * Float(Laux[i]) + thisMin - x[i]
            error += weights[i] * (diff * diff)
        }
        if error < bestError {
            for i in 0..<n { L[i] = Laux[i] }
            bestError = error
            scale = thisScale
            min = thisMin
        }
    }
    return (scale, -min)
}

/// ggml's GROUP_MAX_EPS: a group whose largest magnitude is below it quantizes to zeros.
let groupMaxEps: Float = 1e-15

/// `make_qx_quants` with rmse_type 1 (weights x², no importance matrix): a signed scale for `n`
/// weights at levels −nmax…nmax−1, trying 19 scales around the max-magnitude one. Writes L + nmax.
func makeQXQuants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
    var max: Float = 0, amax: Float = 0
    for i in 0..<n where abs(x[i]) > amax { amax = abs(x[i]); max = x[i] }
    if amax < groupMaxEps {
        for i in 0..<n { L[i] = 0 }
        return 0
    }
    let fmax = Float(nmax)
    var iscale = -fmax / max
    var sumLX: Float = 0, sumL2: Float = 0
    for i in 0..<n {
        let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
        L[i] = Int8(l + nmax)
        let w = x[i] * x[i], fl = Float(l)
        sumLX += w * x[i] * fl
        sumL2 += w * fl * fl
    }
    var scale: Float = sumL2 != 0 ? sumLX / sumL2 : 0
    var best = scale * sumLX
    for step in -9...9 where step != 0 {
        iscale = -(fmax + 0.1 * Float(step)) / max
        sumLX = 0; sumL2 = 0
        for i in 0..<n {
            let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
            let w = x[i] * x[i], fl = Float(l)
            sumLX += w * x[i] * fl
            sumL2 += w * fl * fl
        }
        if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
            for i in 0..<n { L[i] = Int8(Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i]))) + nmax) }
            scale = sumLX / sumL2
            best = scale * sumLX
        }
    }
    return scale
}

/// block_q4_K (144 bytes): half d, half dmin, 12 bytes of 6-bit scales and mins for the eight
/// 32-weight sub-blocks, 128 bytes of nibbles (sub-blocks 2k and 2k+1 share 32 bytes: low, high).
func quantizeQ4_K(_ y: UnsafeMutableRawPointer, _ x: UnsafePointer<Float>) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32 + 12) { bytes in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 + 16) { floats in
            quantizeQ4_K(y, x, L: bytes.baseAddress!, Laux: bytes.baseAddress! + 256, packed: bytes.baseAddress! + 288,
                         weights: floats.baseAddress!, scales: floats.baseAddress! + 32, mins: floats.baseAddress! + 40)
        }
    }
}

func quantizeQ4_K(_ y: UnsafeMutableRawPointer, _ x: UnsafePointer<Float>, L: UnsafeMutablePointer<UInt8>, Laux: UnsafeMutablePointer<UInt8>,
                  packed: UnsafeMutablePointer<UInt8>, weights: UnsafeMutablePointer<Float>, scales: UnsafeMutablePointer<Float>,
                  mins: UnsafeMutablePointer<Float>) {
    var maxScale: Float = 0, maxMin: Float = 0
    for j in 0..<8 {
        let xs = x + 32 * j
        var sumX2: Float = 0
        for l in 0..<32 { sumX2 += xs[l] * xs[l] }
        let avX = (sumX2 / 32).squareRoot()
        for l in 0..<32 { weights[l] = avX + abs(xs[l]) }
        let (scale, negMin) = makeQKX2Quants(32, 15, xs, weights, L + 32 * j, Laux, rmin: -1, rdelta: 0.1, nstep: 20)
        scales[j] = scale; mins[j] = negMin
        if scale > maxScale { maxScale = scale }
        if negMin > maxMin { maxMin = negMin }
    }
    let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
    let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
    for k in 0..<12 { packed[k] = 0 }
    for j in 0..<8 {
        // C stores nearest_int into a uint8_t (mod 256) before MIN(63, ·).
        let ls = Swift.min(63, UInt8(truncatingIfNeeded: nearestInt(invScale * scales[j])))
        let lm = Swift.min(63, UInt8(truncatingIfNeeded: nearestInt(invMin * mins[j])))
        if j < 4 {
            packed[j] = ls; packed[j + 4] = lm
        } else {
            packed[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4)
            packed[j - 4] |= (ls >> 4) << 6
            packed[j] |= (lm >> 4) << 6
        }
    }
    let dHalf = DTypeConversion.floatToFloat16(maxScale / 63), dminHalf = DTypeConversion.floatToFloat16(maxMin / 63)
    let dAll = DTypeConversion.float16ToFloat(dHalf), dminAll = DTypeConversion.float16ToFloat(dminHalf)
    for j in 0..<8 {
        let (sc, m) = scaleMinK4(j, packed)
        let d = dAll * Float(sc)
        if d == 0 { continue }
        let dm = dminAll * Float(m)
        for i in 0..<32 { L[32 * j + i] = UInt8(Swift.max(0, Swift.min(15, nearestInt((x[32 * j + i] + dm) / d)))) }
    }
    y.storeLE(dHalf, 0)
    y.storeLE(dminHalf, 2)
    for k in 0..<12 { y.storeBytes(of: packed[k], toByteOffset: 4 + k, as: UInt8.self) }
    for chunk in 0..<4 {
        for l in 0..<32 {
            y.storeBytes(of: L[64 * chunk + l] | (L[64 * chunk + l + 32] << 4), toByteOffset: 16 + 32 * chunk + l, as: UInt8.self)
        }
    }
}

/// ggml's `get_scale_min_k4`: the 6-bit scale and min of sub-block j from the 12 packed bytes.
func scaleMinK4(_ j: Int, _ q: UnsafePointer<UInt8>) -> (UInt8, UInt8) {
    if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
    return ((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
}

/// block_q6_K (210 bytes): 128 bytes low nibbles ql, 64 bytes high bit pairs qh, 16 int8 scales,
/// half d. Weights are 6-bit levels −32…31 per 16-weight sub-block scale.
func quantizeQ6_K(_ y: UnsafeMutableRawPointer, _ x: UnsafePointer<Float>) {
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256 + 16) { bytes in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { scales in
            quantizeQ6_K(y, x, L: bytes.baseAddress!, sc: bytes.baseAddress! + 256, scales: scales.baseAddress!)
        }
    }
}

func quantizeQ6_K(_ y: UnsafeMutableRawPointer, _ x: UnsafePointer<Float>, L: UnsafeMutablePointer<Int8>, sc: UnsafeMutablePointer<Int8>,
                  scales: UnsafeMutablePointer<Float>) {
    var maxScale: Float = 0, maxAbsScale: Float = 0
    for ib in 0..<16 {
        let scale = makeQXQuants(16, 32, x + 16 * ib, L + 16 * ib)
        scales[ib] = scale
        if abs(scale) > maxAbsScale { maxAbsScale = abs(scale); maxScale = scale }
    }
    if maxAbsScale < groupMaxEps {
        for k in 0..<210 { y.storeBytes(of: UInt8(0), toByteOffset: k, as: UInt8.self) }
        return
    }
    let iscale = -128 / maxScale
    let dHalf = DTypeConversion.floatToFloat16(1 / iscale)
    let dAll = DTypeConversion.float16ToFloat(dHalf)
    for ib in 0..<16 { sc[ib] = Int8(truncatingIfNeeded: Swift.min(127, nearestInt(iscale * scales[ib]))) }
    for j in 0..<16 {
        let d = dAll * Float(sc[j])
        if d == 0 { continue }
        for i in 0..<16 { L[16 * j + i] = Int8(Swift.max(-32, Swift.min(31, nearestInt(x[16 * j + i] / d))) + 32) }
    }
    for half in 0..<2 {
        let j = 128 * half
        for l in 0..<32 {
            let q1 = UInt8(L[j + l]) & 0xF, q2 = UInt8(L[j + l + 32]) & 0xF
            let q3 = UInt8(L[j + l + 64]) & 0xF, q4 = UInt8(L[j + l + 96]) & 0xF
            y.storeBytes(of: q1 | (q3 << 4), toByteOffset: 64 * half + l, as: UInt8.self)
            y.storeBytes(of: q2 | (q4 << 4), toByteOffset: 64 * half + l + 32, as: UInt8.self)
            let h = (UInt8(L[j + l]) >> 4) | ((UInt8(L[j + l + 32]) >> 4) << 2) | ((UInt8(L[j + l + 64]) >> 4) << 4) | ((UInt8(L[j + l + 96]) >> 4) << 6)
            y.storeBytes(of: h, toByteOffset: 128 + 32 * half + l, as: UInt8.self)
        }
    }
    for ib in 0..<16 { y.storeBytes(of: sc[ib], toByteOffset: 192 + ib, as: Int8.self) }
    y.storeLE(dHalf, 208)
}
