import Tensors

/// The absmax of an NF4 tensor after double quantization (ALGORITHMS.md §5.4):
/// absmax_b = DYNAMIC8[codes[b]] · nestedAbsmax[b / nestedBlockSize] + offset.
public struct DoubleQuantizedAbsmax: Equatable, Sendable {
    public static let nestedBlockSize = 256
    public var codes: [UInt8]
    public var nestedAbsmax: [Float]
    public var offset: Float

    public init(codes: [UInt8], nestedAbsmax: [Float], offset: Float) {
        self.codes = codes; self.nestedAbsmax = nestedAbsmax; self.offset = offset
    }

    /// Quantizes `absmax` around its mean (accumulated in Double, then rounded to Float32).
    public init(absmax: [Float]) {
        let mean = absmax.isEmpty ? 0 : Float(absmax.reduce(0.0) { $0 + Double($1) } / Double(absmax.count))
        self.init(absmax: absmax, offset: mean)
    }

    /// Quantizes `absmax − offset` with the given offset (tests pin bitsandbytes' own mean this way).
    public init(absmax: [Float], offset: Float) {
        let centred = absmax.map { $0 - offset }
        let n = centred.count, bs = Self.nestedBlockSize
        var codes = [UInt8](repeating: 0, count: n)
        var nested = [Float](repeating: 0, count: (n + bs - 1) / bs)
        centred.withUnsafeBufferPointer { c in
            codes.withUnsafeMutableBufferPointer { q in
                nested.withUnsafeMutableBufferPointer { a in
                    dynamic8Quantize(codes: q.baseAddress!, absmax: a.baseAddress!, input: c.baseAddress!, count: n, blockSize: bs)
                }
            }
        }
        self.init(codes: codes, nestedAbsmax: nested, offset: offset)
    }

    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: codes.count)
        codes.withUnsafeBufferPointer { q in
            nestedAbsmax.withUnsafeBufferPointer { a in
                out.withUnsafeMutableBufferPointer { o in
                    dynamic8Dequantize(output: o.baseAddress!, codes: q.baseAddress!, absmax: a.baseAddress!,
                                       count: codes.count, blockSize: Self.nestedBlockSize)
                }
            }
        }
        for i in out.indices { out[i] = out[i] + offset }
        return out
    }
}

/// A tensor in NF4: packed codes plus the per-block absmax, plain or double-quantized.
public struct NF4Tensor: Sendable {
    public enum Absmax: Sendable, Equatable {
        case plain([Float])
        case double(DoubleQuantizedAbsmax)
    }
    public var shape: [Int]
    /// The dtype the tensor had before quantization (dequantization returns to it).
    public var originalDType: DType
    public var blockSize: Int
    public var packed: [UInt8]
    public var absmax: Absmax

    public init(shape: [Int], originalDType: DType, blockSize: Int, packed: [UInt8], absmax: Absmax) {
        self.shape = shape; self.originalDType = originalDType; self.blockSize = blockSize
        self.packed = packed; self.absmax = absmax
    }

    public var count: Int { shape.reduce(1, *) }
    public var blockCount: Int { (count + blockSize - 1) / blockSize }

    /// Quantizes Float32 values (converted from F16/BF16 exactly, as bitsandbytes does).
    public static func quantize(_ values: UnsafeBufferPointer<Float>, shape: [Int], originalDType: DType = .F32,
                                blockSize: Int = 64, doubleQuant: Bool = true) -> NF4Tensor {
        precondition(values.count == shape.reduce(1, *), "NF4Tensor.quantize: \(values.count) values for \(shape)")
        precondition(NF4.validBlockSizes.contains(blockSize), "NF4Tensor.quantize: invalid block size \(blockSize)")
        let n = values.count
        var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
        var absmax = [Float](repeating: 0, count: (n + blockSize - 1) / blockSize)
        if n > 0 {
            packed.withUnsafeMutableBufferPointer { p in
                absmax.withUnsafeMutableBufferPointer { a in
                    nf4QuantizeParallel(packed: p.baseAddress!, absmax: a.baseAddress!, input: values.baseAddress!,
                                        count: n, blockSize: blockSize)
                }
            }
        }
        return NF4Tensor(shape: shape, originalDType: originalDType, blockSize: blockSize, packed: packed,
                         absmax: doubleQuant ? .double(DoubleQuantizedAbsmax(absmax: absmax)) : .plain(absmax))
    }

    /// Quantizes a stored tensor without a full Float32 copy: F32 data is read in place (e.g. from a
    /// memory map); other dtypes are converted in chunks of whole blocks.
    public static func quantize(_ tensor: Tensor, blockSize: Int = 64, doubleQuant: Bool = true) -> NF4Tensor {
        precondition(NF4.validBlockSizes.contains(blockSize), "NF4Tensor.quantize: invalid block size \(blockSize)")
        let n = tensor.elementCount
        let original: DType = [.F16, .BF16].contains(tensor.dtype) ? tensor.dtype : .F32
        let bytes = tensor.bytes
        if tensor.dtype == .F32, n > 0, Int(bitPattern: bytes.baseAddress!) % MemoryLayout<Float>.alignment == 0 {
            return quantize(bytes.bindMemory(to: Float.self), shape: tensor.shape, originalDType: original,
                            blockSize: blockSize, doubleQuant: doubleQuant)
        }
        var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
        var absmax = [Float](repeating: 0, count: (n + blockSize - 1) / blockSize)
        let chunk = max(blockSize, (1 << 20) / blockSize * blockSize)
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: min(chunk, max(n, 1)))
        defer { buffer.deallocate() }
        let size = tensor.dtype.byteSize
        packed.withUnsafeMutableBufferPointer { p in
            absmax.withUnsafeMutableBufferPointer { a in
                for start in stride(from: 0, to: n, by: chunk) {
                    let count = min(chunk, n - start)
                    let part = UnsafeRawBufferPointer(rebasing: bytes[(start * size)..<((start + count) * size)])
                    DTypeConversion.load(part, as: tensor.dtype, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<count]))
                    nf4QuantizeParallel(packed: p.baseAddress! + start / 2, absmax: a.baseAddress! + start / blockSize,
                                        input: buffer.baseAddress!, count: count, blockSize: blockSize)
                }
            }
        }
        return NF4Tensor(shape: tensor.shape, originalDType: original, blockSize: blockSize, packed: packed,
                         absmax: doubleQuant ? .double(DoubleQuantizedAbsmax(absmax: absmax)) : .plain(absmax))
    }

    /// The per-block absmax as Float32 (undoing double quantization).
    public func blockAbsmax() -> [Float] {
        switch absmax {
        case let .plain(a): return a
        case let .double(d): return d.dequantized()
        }
    }

    /// Dequantized values in Float32 (NF4[code] · absmax_b).
    public func dequantized() -> [Float] {
        let scales = blockAbsmax()
        var out = [Float](repeating: 0, count: count)
        guard count > 0 else { return out }
        packed.withUnsafeBufferPointer { p in
            scales.withUnsafeBufferPointer { a in
                out.withUnsafeMutableBufferPointer { o in
                    nf4Dequantize(output: o.baseAddress!, packed: p.baseAddress!, absmax: a.baseAddress!,
                                  count: count, blockSize: blockSize)
                }
            }
        }
        return out
    }

    /// Dequantized and stored in the original dtype (what bitsandbytes returns).
    public func dequantizedTensor() -> Tensor { Tensor(floats: dequantized(), shape: shape, dtype: originalDType) }

    /// Storage cost in bits per weight, counting absmax (and nested state when double-quantized).
    public var bitsPerWeight: Double {
        guard count > 0 else { return 0 }
        let stats: Int
        switch absmax {
        case let .plain(a): stats = a.count * 32
        case let .double(d): stats = d.codes.count * 8 + d.nestedAbsmax.count * 32 + 32
        }
        return Double(packed.count * 8 + stats) / Double(count)
    }
}
