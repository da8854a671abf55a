import Dispatch
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
        self.init(absmax: absmax, offset: Self.offset(of: absmax))
    }

    /// The offset: the mean of the block absmax, accumulated in Double in block order, rounded to Float32.
    public static func offset<C: Collection>(of absmax: C) -> Float where C.Element == Float {
        absmax.isEmpty ? 0 : Float(absmax.reduce(0.0) { $0 + Double($1) } / Double(absmax.count))
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
                    guard n > 0 else { return }
                    let (q, a, c) = (q.baseAddress!, a.baseAddress!, c.baseAddress!)
                    parallelRanges((n + bs - 1) / bs, costPerItem: bs * 16) { first, end in   // nested blocks are independent
                        dynamic8Quantize(codes: q + first * bs, absmax: a + first, input: c + first * bs,
                                         count: min(n, end * bs) - first * bs, blockSize: bs)
                    }
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
    /// memory map); other dtypes are converted piece by piece.
    public static func quantize(_ tensor: Tensor, blockSize: Int = 64, doubleQuant: Bool = true) -> NF4Tensor {
        precondition(NF4.validBlockSizes.contains(blockSize), "NF4Tensor.quantize: invalid block size \(blockSize)")
        let n = tensor.elementCount
        var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
        var absmax = [Float](repeating: 0, count: (n + blockSize - 1) / blockSize)
        packed.withUnsafeMutableBufferPointer { p in
            absmax.withUnsafeMutableBufferPointer { a in
                let (p, a) = (p.baseAddress, a.baseAddress)
                forEachPiece(of: tensor, blockSize: blockSize) { _, start, values, count in
                    nf4Quantize(packed: p! + start / 2, absmax: a! + start / blockSize, input: values, count: count, blockSize: blockSize)
                }
            }
        }
        return NF4Tensor(shape: tensor.shape, originalDType: dtypeAfterDequantizing(tensor), blockSize: blockSize, packed: packed,
                         absmax: doubleQuant ? .double(DoubleQuantizedAbsmax(absmax: absmax)) : .plain(absmax))
    }

    /// The double-quantization offset `quantize(tensor, …)` will record, from one pass over the
    /// block absmax (no codes): a streaming pass needs it early, for the length of the quant-state JSON.
    public static func doubleQuantOffset(of tensor: Tensor, blockSize: Int = 64) -> Float {
        var absmax = [Float](repeating: 0, count: (tensor.elementCount + blockSize - 1) / blockSize)
        absmax.withUnsafeMutableBufferPointer { a in
            let a = a.baseAddress
            forEachPiece(of: tensor, blockSize: blockSize) { _, start, values, count in
                nf4BlockAbsmax(absmax: a! + start / blockSize, input: values, count: count, blockSize: blockSize)
            }
        }
        return DoubleQuantizedAbsmax.offset(of: absmax)
    }

    /// ‖W − Ŵ‖ / ‖W‖ (in Double; 0 for an all-zero W) against the tensor this was quantized from,
    /// reading it piece by piece instead of materialising W or Ŵ in Float32.
    public func relativeError(to source: Tensor) -> Double {
        precondition(source.elementCount == count, "NF4Tensor.relativeError: \(source.elementCount) values for \(shape)")
        let scales = blockAbsmax()
        var sums = [(error: Double, norm: Double)](repeating: (0, 0), count: Self.pieceCount(count, blockSize: blockSize))
        packed.withUnsafeBufferPointer { p in
            scales.withUnsafeBufferPointer { a in
                sums.withUnsafeMutableBufferPointer { s in
                    let (p, a, s, bs) = (p.baseAddress, a.baseAddress, s.baseAddress, blockSize)
                    Self.forEachPiece(of: source, blockSize: bs) { index, start, values, n in
                        s![index] = nf4SquaredError(packed: p! + start / 2, absmax: a! + start / bs, input: values, count: n, blockSize: bs)
                    }
                }
            }
        }
        let error = sums.reduce(0) { $0 + $1.error }, norm = sums.reduce(0) { $0 + $1.norm }
        return norm == 0 ? (error == 0 ? 0 : .infinity) : (error / norm).squareRoot()
    }

    /// `quantize` and `relativeError(to:)` in one read of `tensor`: each piece (whole groups of 256
    /// blocks) is quantized, its absmax double-quantized around `offset` — nested blocks are
    /// independent once the offset is known — and its error summed while it is still in cache.
    /// `offset` is what `doubleQuantOffset` found (nil without double quantization); should it not
    /// be the mean of the absmax after all, this falls back to the two separate steps.
    public static func quantizeMeasuringError(_ tensor: Tensor, blockSize bs: Int = 64, doubleQuant: Bool = true,
                                              offset: Float?) -> (NF4Tensor, relativeError: Double) {
        precondition(NF4.validBlockSizes.contains(bs), "NF4Tensor.quantizeMeasuringError: invalid block size \(bs)")
        guard !doubleQuant || offset != nil else {
            let q = quantize(tensor, blockSize: bs, doubleQuant: true)
            return (q, q.relativeError(to: tensor))
        }
        let n = tensor.elementCount, blocks = (n + bs - 1) / bs, group = DoubleQuantizedAbsmax.nestedBlockSize
        let piece = group * bs * max(1, (1 << 17) / (group * bs))   // ≈ 128 K values: stays in L2 between the two loops
        var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
        var absmax = [Float](repeating: 0, count: blocks)
        var codes = [UInt8](repeating: 0, count: doubleQuant ? blocks : 0)
        var nested = [Float](repeating: 0, count: doubleQuant ? (blocks + group - 1) / group : 0)
        var sums = [(error: Double, norm: Double)](repeating: (0, 0), count: (n + piece - 1) / piece)
        let centre = offset ?? 0
        packed.withUnsafeMutableBufferPointer { p in absmax.withUnsafeMutableBufferPointer { a in
        codes.withUnsafeMutableBufferPointer { c in nested.withUnsafeMutableBufferPointer { m in
        sums.withUnsafeMutableBufferPointer { s in
            let (p, a, c, m, s) = (p.baseAddress, a.baseAddress, c.baseAddress, m.baseAddress, s.baseAddress)
            forEachPiece(of: tensor, blockSize: bs, pieceLength: piece) { index, start, values, count in
                let first = start / bs, pieceBlocks = (count + bs - 1) / bs
                nf4Quantize(packed: p! + start / 2, absmax: a! + first, input: values, count: count, blockSize: bs)
                var scales = Array(UnsafeBufferPointer(start: a! + first, count: pieceBlocks))
                if doubleQuant {   // as DoubleQuantizedAbsmax(absmax:offset:) and .dequantized() do, group by group
                    let centred = scales.map { $0 - centre }
                    dynamic8Quantize(codes: c! + first, absmax: m! + first / group, input: centred, count: pieceBlocks, blockSize: group)
                    dynamic8Dequantize(output: &scales, codes: c! + first, absmax: m! + first / group, count: pieceBlocks, blockSize: group)
                    for i in scales.indices { scales[i] = scales[i] + centre }
                }
                s![index] = nf4SquaredError(packed: p! + start / 2, absmax: scales, input: values, count: count, blockSize: bs)
            }
        } } } } }
        let error = sums.reduce(0) { $0 + $1.error }, norm = sums.reduce(0) { $0 + $1.norm }
        let relative = norm == 0 ? (error == 0 ? 0 : .infinity) : (error / norm).squareRoot()
        let dtype = dtypeAfterDequantizing(tensor)
        guard doubleQuant else {
            return (NF4Tensor(shape: tensor.shape, originalDType: dtype, blockSize: bs, packed: packed, absmax: .plain(absmax)), relative)
        }
        guard DoubleQuantizedAbsmax.offset(of: absmax).bitPattern == centre.bitPattern else {
            let q = NF4Tensor(shape: tensor.shape, originalDType: dtype, blockSize: bs, packed: packed,
                              absmax: .double(DoubleQuantizedAbsmax(absmax: absmax)))
            return (q, q.relativeError(to: tensor))
        }
        return (NF4Tensor(shape: tensor.shape, originalDType: dtype, blockSize: bs, packed: packed,
                          absmax: .double(DoubleQuantizedAbsmax(codes: codes, nestedAbsmax: nested, offset: centre))), relative)
    }

    /// The dtype dequantization returns to (bitsandbytes keeps F16 / BF16; anything else becomes F32).
    public static func dtypeAfterDequantizing(_ tensor: Tensor) -> DType { [.F16, .BF16].contains(tensor.dtype) ? tensor.dtype : .F32 }

    /// Pieces of whole blocks, ≈ 512 K values: small enough for one worker's conversion buffer.
    static func pieceLength(blockSize: Int) -> Int { max(blockSize, (1 << 19) / blockSize * blockSize) }
    static func pieceCount(_ n: Int, blockSize: Int) -> Int { (n + pieceLength(blockSize: blockSize) - 1) / pieceLength(blockSize: blockSize) }

    /// Calls `body(index, start, values, count)` for each piece of `tensor` as Float32, the pieces
    /// spread over the cores: aligned F32 data in place, other dtypes converted into a buffer per worker.
    static func forEachPiece(of tensor: Tensor, blockSize: Int, pieceLength: Int? = nil,
                             _ body: (Int, Int, UnsafePointer<Float>, Int) -> Void) {
        let n = tensor.elementCount, piece = pieceLength ?? Self.pieceLength(blockSize: blockSize), pieces = (n + piece - 1) / piece
        guard n > 0 else { return }
        let bytes = tensor.bytes, size = tensor.dtype.byteSize
        let inPlace = tensor.dtype == .F32 && Int(bitPattern: bytes.baseAddress!) % MemoryLayout<Float>.alignment == 0
        let workers = min(kernelThreads, pieces)
        func work(_ worker: Int) {
            let buffer = inPlace ? nil : UnsafeMutableBufferPointer<Float>.allocate(capacity: min(piece, n))
            defer { buffer?.deallocate() }
            for index in stride(from: worker, to: pieces, by: workers) {
                let start = index * piece, count = min(piece, n - start)
                tensor.storage.prefetchPages(offset: start * size, count: count * size)   // one call, not a fault per 64 kB
                if let buffer {
                    let part = UnsafeRawBufferPointer(rebasing: bytes[(start * size)..<((start + count) * size)])
                    DTypeConversion.load(part, as: tensor.dtype, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<count]))
                    body(index, start, buffer.baseAddress!, count)
                } else {
                    body(index, start, bytes.baseAddress!.assumingMemoryBound(to: Float.self) + start, count)
                }
            }
        }
        if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
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
        if case .plain = absmax { return Self.bitsPerWeight(count: count, blockSize: blockSize, doubleQuant: false) }
        return Self.bitsPerWeight(count: count, blockSize: blockSize, doubleQuant: true)
    }

    /// The same from the sizes alone: packed codes, plus one f32 absmax per block, or with double
    /// quantization one u8 per block, one f32 per 256 blocks and the f32 offset.
    public static func bitsPerWeight(count n: Int, blockSize: Int, doubleQuant: Bool) -> Double {
        guard n > 0 else { return 0 }
        let blocks = (n + blockSize - 1) / blockSize
        let stats = doubleQuant ? blocks * 8 + (blocks + DoubleQuantizedAbsmax.nestedBlockSize - 1) / DoubleQuantizedAbsmax.nestedBlockSize * 32 + 32
                                : blocks * 32
        return Double((n + 1) / 2 * 8 + stats) / Double(n)
    }
}
