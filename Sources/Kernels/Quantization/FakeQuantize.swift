/// Integer codes of a `[rows, cols]` tensor under a `Quantizer`, with one scale (and zero point) per
/// group of `groupLength` consecutive values: what an exporter writes. Dequantizing gives the fake-quant
/// forward bit for bit (the forward is defined as dequantize ∘ quantize):
///   linear schemes  x̂ = scale_g · (Float(code) − zeroPoint_g)   (zeroPoint 0 unless uint8Asymmetric)
///   nf4             x̂ = NF4.values[code] · absmax_g
public struct QuantizedCodes: Equatable, Sendable {
    public var quantizer: Quantizer
    public var rows: Int
    public var cols: Int
    /// int8: −128…127; uint8Asymmetric: 0…255; ternary: −1, 0, 1; symmetric: −Q…Q; nf4: 0…15.
    public var codes: [Int32]
    public var scales: [Float]
    public var zeroPoints: [Float]

    public var groupLength: Int { quantizer.groupLength(rows: rows, cols: cols) }

    public func dequantize(into out: UnsafeMutablePointer<Float>) {
        let g = groupLength
        codes.withUnsafeBufferPointer { q in
            for i in 0..<q.count {
                out[i] = quantizer.scheme == .nf4 ? NF4.values[Int(q[i])] * scales[i / g]
                                                  : scales[i / g] * (Float(q[i]) - zeroPoints[i / g])
            }
        }
    }

    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: codes.count)
        dequantize(into: &out)
        return out
    }
}

extension Quantizer {
    /// Quantizes `inp[rows, cols]` to codes and per-group scales.
    public func quantize(_ inp: UnsafePointer<Float>, rows: Int, cols: Int) -> QuantizedCodes {
        precondition(problem == nil, "Quantizer: \(problem ?? "")")
        let n = rows * cols, g = groupLength(rows: rows, cols: cols)
        let groups = n == 0 ? 0 : (n + g - 1) / g
        var codes = [Int32](repeating: 0, count: n)
        var scales = [Float](repeating: 0, count: groups), zeros = [Float](repeating: 0, count: groups)
        if scheme == .nf4 {
            withNF4Codes(inp, count: n) { packed, absmax in
                for i in 0..<n { codes[i] = Int32(i % 2 == 0 ? packed[i / 2] >> 4 : packed[i / 2] & 0x0F) }
                for b in 0..<groups { scales[b] = absmax[b] }
            }
        } else {
            codes.withUnsafeMutableBufferPointer { q in
                scales.withUnsafeMutableBufferPointer { s in
                    zeros.withUnsafeMutableBufferPointer { z in
                        quantizeGroups(q.baseAddress, s.baseAddress, z.baseAddress, inp, count: n, groupLength: g)
                    }
                }
            }
        }
        return QuantizedCodes(quantizer: self, rows: rows, cols: cols, codes: codes, scales: scales, zeroPoints: zeros)
    }

    /// `out[rows, cols]` = dequantize(quantize(`inp`)) — the fake-quant forward; `out` may alias `inp`.
    public func fakeQuantizeForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int, cols: Int) {
        precondition(problem == nil, "Quantizer: \(problem ?? "")")
        let n = rows * cols
        guard n > 0 else { return }
        if scheme == .nf4 {
            withNF4Codes(inp, count: n) { packed, absmax in
                nf4Dequantize(output: out, packed: packed, absmax: absmax, count: n, blockSize: blockSize)
            }
            return
        }
        let g = groupLength(rows: rows, cols: cols)
        parallelRanges(n / g, costPerItem: g) { first, end in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: g) { codes in
                for k in first..<end {
                    var scale: Float = 0, zero: Float = 0
                    quantizeGroups(codes.baseAddress, &scale, &zero, inp + k * g, count: g, groupLength: g)
                    let o = out + k * g
                    for i in 0..<g { o[i] = scale * (Float(codes[i]) - zero) }
                }
            }
        }
    }

    /// Straight-through backward: `dinp += dout` where −clip < inp < clip (everywhere without a clip);
    /// values that were clipped get nothing. Accumulates; `inp` is the forward's unclipped input.
    public func fakeQuantizeBackward(dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, inp: UnsafePointer<Float>,
                                     rows: Int, cols: Int) {
        let n = rows * cols
        guard let c = clip else {
            for i in 0..<n { dinp[i] += dout[i] }
            return
        }
        for i in 0..<n where inp[i] < c && inp[i] > -c { dinp[i] += dout[i] }
    }

    /// Codes of consecutive groups of `g` values (the linear schemes); `count` is a multiple of `g`.
    func quantizeGroups(_ codes: UnsafeMutablePointer<Int32>?, _ scales: UnsafeMutablePointer<Float>?,
                        _ zeros: UnsafeMutablePointer<Float>?, _ inp: UnsafePointer<Float>, count n: Int, groupLength g: Int) {
        guard n > 0, let codes, let scales, let zeros else { return }
        withClipped(inp, count: n) { x in
            for k in 0..<(n / g) {
                let q = codes + k * g, v = x + k * g
                zeros[k] = 0
                switch scheme {
                case .int8:
                    scales[k] = withUnsafeTemporaryAllocation(of: Int8.self, capacity: g) { q8 in
                        var s: Float = 0
                        int8QuantizeRows(q: q8.baseAddress!, scale: &s, x: v, rows: 1, cols: g)
                        for i in 0..<g { q[i] = Int32(q8[i]) }
                        return s
                    }
                case .uint8Asymmetric:
                    let p = uint8AsymmetricQuantizeGroup(codes: q, x: v, count: g)
                    scales[k] = p.scale; zeros[k] = p.zeroPoint
                case .ternary:
                    scales[k] = ternaryQuantizeGroup(codes: q, x: v, count: g)
                case .symmetric:
                    scales[k] = symmetricQuantizeGroup(codes: q, x: v, count: g, bits: bits)
                case .nf4:
                    preconditionFailure("nf4 is quantized blockwise by withNF4Codes")
                }
            }
        }
    }

    /// Runs `body` on `inp` clamped to ±clip (a copy), or on `inp` itself without a clip.
    func withClipped<R>(_ inp: UnsafePointer<Float>, count n: Int, _ body: (UnsafePointer<Float>) -> R) -> R {
        guard let c = clip else { return body(inp) }
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { x in
            for i in 0..<n { x[i] = min(max(inp[i], -c), c) }
            return body(x.baseAddress!)
        }
    }

    /// bitsandbytes NF4 of the (clipped) flattened tensor: packed nibbles and block absmax.
    func withNF4Codes(_ inp: UnsafePointer<Float>, count n: Int, _ body: (UnsafePointer<UInt8>, UnsafePointer<Float>) -> Void) {
        let packed = UnsafeMutablePointer<UInt8>.allocate(capacity: (n + 1) / 2 + 1)
        let absmax = UnsafeMutablePointer<Float>.allocate(capacity: (n + blockSize - 1) / blockSize + 1)
        defer { packed.deallocate(); absmax.deallocate() }
        withClipped(inp, count: n) { x in
            nf4Quantize(packed: packed, absmax: absmax, input: x, count: n, blockSize: blockSize)
        }
        body(packed, absmax)
    }
}
