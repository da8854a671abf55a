#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Tensors

/// One tensor of a GGUF file to write: its llama.cpp name, ggml type and dimensions in ggml order
/// (`dimensions[0]` = ne[0], the row length).
public struct GGUFTensorPlan: Equatable, Sendable {
    public let name: String
    public let type: GGMLType
    public let dimensions: [Int]
    public init(name: String, type: GGMLType, dimensions: [Int]) { self.name = name; self.type = type; self.dimensions = dimensions }
    public var elementCount: Int { dimensions.reduce(1, *) }
    public var byteCount: Int { type.byteCount(elements: elementCount) }
}

/// Streaming, atomic GGUF v3 writer (layout: GGUFHeader). The header is computed from the plans;
/// tensors are then produced one at a time as Float32 values (any float dtype; converted row slice by
/// row slice) and quantized straight into `OutputFile`'s buffers, so memory holds one source tensor
/// plus a few MB, never the model. Output goes to a temporary file that is fsynced and renamed over
/// `path`; on any error the temporary file is removed.
public enum GGUFWriter {
    public static let alignment = 32
    /// Written with direct I/O (`OutputFile`'s `direct`) unless the environment sets
    /// WHITTLE_DIRECT_IO=0 (to measure the page-cache path against it: tools/bench_gguf_peer.py).
    static var directIO: Bool { getenv("WHITTLE_DIRECT_IO").map { String(cString: $0) != "0" } ?? true }
    /// Rows of a tensor converted and quantized per step (across cores), bounded by this many floats.
    static let sliceFloats = 1 << 20

    /// Writes `metadata` (in order) and `tensors` (in order); `produce` returns each tensor as floats
    /// of shape `dimensions.reversed()` (PyTorch order). `rowOrder`, when it returns an order for a
    /// tensor, makes stored row r the produced tensor's row `order[r]` (a permutation of its rows;
    /// llama.cpp's q/k order) — gathered while converting, so the tensor is not copied to reorder it.
    /// `inputs` are files being read; writing over one of them is refused. `lateMetadata`, when given,
    /// is appended to `metadata` and computed on another thread while the first tensors are quantized
    /// (`GGUFHeldHeader`); its errors are thrown as if it ran first.
    public static func write(to path: String, metadata: [(key: String, value: GGUFValue)], tensors: [GGUFTensorPlan],
                             inputs: [String] = [], rowOrder: (GGUFTensorPlan) -> [Int]? = { _ in nil },
                             lateMetadata: (() throws -> [(key: String, value: GGUFValue)])? = nil,
                             produce: (GGUFTensorPlan) throws -> Tensor) throws {
        try SafetensorsWriter.refuseOverwrite(path, inputs: inputs)
        try validate(tensors, metadata: metadata, path: path)
        let temporary = path + ".tmp-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let file = try OutputFile(temporary: temporary, destination: path, direct: directIO)
        let scratch = FloatScratch()
        do {
            let sink: GGUFByteSink
            var held: GGUFHeldHeader?
            if let lateMetadata {
                held = GGUFHeldHeader(file: file) {
                    let all = metadata + (try lateMetadata())
                    try validate(tensors, metadata: all, path: path)
                    return headerBytes(metadata: all, tensors: tensors)
                }
                sink = held!
            } else {
                try headerBytes(metadata: metadata, tensors: tensors).withUnsafeBytes { try file.write($0) }
                sink = file
            }
            for plan in tensors {
                let tensor = try produce(plan)
                guard tensor.shape == plan.dimensions.reversed(), tensor.dtype.isFloatingPoint else {
                    throw CheckpointError.writeFailed(path: path, reason: "tensor '\(plan.name)' was produced as \(tensor.dtype) \(tensor.shape), expected floats of shape \(Array(plan.dimensions.reversed()))")
                }
                let order = rowOrder(plan)
                if let order, order.count != plan.elementCount / plan.dimensions[0] || Set(order).count != order.count
                    || order.contains(where: { $0 < 0 || $0 >= order.count }) {
                    throw CheckpointError.writeFailed(path: path, reason: "tensor '\(plan.name)': the row order is not a permutation of its \(plan.elementCount / plan.dimensions[0]) rows")
                }
                try writeData(tensor, plan: plan, file: sink, order: order, scratch: scratch)
                try pad(sink, plan.byteCount)
            }
            try held?.release()
            try file.finish()
            guard rename(temporary, path) == 0 else {
                throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            SafetensorsWriter.syncDirectory(of: path)
        } catch {
            file.abandon()
            unlink(temporary)
            throw error
        }
    }

    /// Converts and quantizes `tensor` in slices of whole rows, each slice split across cores. With
    /// `order`, slice rows are gathered from the source rows it names. `scratch` holds the converted
    /// floats of one slice (reused from tensor to tensor).
    static func writeData(_ tensor: Tensor, plan: GGUFTensorPlan, file: GGUFByteSink, order: [Int]? = nil, scratch: FloatScratch) throws {
        let rowLength = plan.dimensions[0], rowBytes = plan.type.byteCount(elements: rowLength)
        let rows = plan.elementCount / max(rowLength, 1)
        let from = tensor.dtype, sourceRowBytes = rowLength * from.byteSize
        let sliceRows = max(1, min(sliceFloats / max(rowLength, 1), OutputFile.bufferBytes / max(rowBytes, 1)))
        try tensor.withUnsafeBytes { raw in
            // Aligned F32 in source order is quantized straight from the source (no copy); other
            // dtypes and gathered rows are converted into the slice-sized scratch first.
            let direct = order == nil && from == .F32 && Int(bitPattern: raw.baseAddress) % MemoryLayout<Float>.alignment == 0
            nonisolated(unsafe) let floats = direct ? UnsafeMutableBufferPointer<Float>(start: nil, count: 0) : scratch.floats(min(rows, sliceRows) * rowLength)
            if order != nil { tensor.storage.prefetchPages() }   // a gather reads anywhere in the tensor
            let storage = tensor.storage
            var row = 0
            while row < rows {
                let n = min(sliceRows, rows - row)
                let count = n * rowLength, bytes = n * rowBytes
                // Per core, for its rows lo..<hi of the slice: source pages mapped in (one madvise) and,
                // unless quantized in place, converted into the scratch; after quantizing, the pages are
                // dropped. So this work runs on both cores, not serially between slices.
                let first = row
                let pages: (Int, Int) -> Void, release: (Int, Int) -> Void
                if let order {
                    pages = { lo, hi in
                        for k in lo..<hi {
                            let s = order[first + k]
                            DTypeConversion.load(UnsafeRawBufferPointer(rebasing: raw[(s * sourceRowBytes)..<((s + 1) * sourceRowBytes)]), as: from,
                                                 into: UnsafeMutableBufferPointer(rebasing: floats[(k * rowLength)..<((k + 1) * rowLength)]))
                        }
                    }
                    release = { _, _ in }
                } else {
                    pages = { lo, hi in
                        storage.prefetchPages(offset: (first + lo) * sourceRowBytes, count: (hi - lo) * sourceRowBytes)
                        if !direct {
                            DTypeConversion.load(UnsafeRawBufferPointer(rebasing: raw[((first + lo) * sourceRowBytes)..<((first + hi) * sourceRowBytes)]), as: from,
                                                 into: UnsafeMutableBufferPointer(rebasing: floats[(lo * rowLength)..<(hi * rowLength)]))
                        }
                    }
                    release = { lo, hi in storage.releasePages(offset: (first + lo) * sourceRowBytes, count: (hi - lo) * sourceRowBytes) }
                }
                let x = direct ? UnsafeBufferPointer(start: (raw.baseAddress! + row * sourceRowBytes).assumingMemoryBound(to: Float.self), count: count)
                               : UnsafeBufferPointer(rebasing: floats[0..<count])
                let space = try bytes <= OutputFile.bufferBytes ? file.reserve(minimum: bytes) : nil
                if let space {
                    quantizeRows(UnsafeMutableRawBufferPointer(rebasing: space[0..<bytes]), x, rows: n, rowLength: rowLength, type: plan.type,
                                 before: pages, after: release)
                    try file.commit(bytes)
                } else {   // a single row larger than the file buffer
                    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 16)
                    defer { out.deallocate() }
                    quantizeRows(out, x, rows: n, rowLength: rowLength, type: plan.type, before: pages, after: release)
                    try file.write(UnsafeRawBufferPointer(out))
                }
                row += n
            }
            if order != nil { tensor.storage.releasePages() }
        }
    }

    /// `quantizeGGML` over `rows` rows, spread over the cores in contiguous row ranges; each core calls
    /// `before(lo, hi)` and `after(lo, hi)` around its rows lo..<hi (mapping the source pages in and out).
    static func quantizeRows(_ out: UnsafeMutableRawBufferPointer, _ x: UnsafeBufferPointer<Float>, rows: Int, rowLength: Int, type: GGMLType,
                             before: ((Int, Int) -> Void)? = nil, after: ((Int, Int) -> Void)? = nil) {
        let rowBytes = type.byteCount(elements: rowLength)
        let parts = rows * rowLength >= 1 << 15 ? min(rows, ProcessInfo_cores) : 1
        nonisolated(unsafe) let out = out
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            let lo = rows * p / parts, hi = rows * (p + 1) / parts
            guard hi > lo else { return }
            before?(lo, hi)
            quantizeGGML(UnsafeMutableRawBufferPointer(rebasing: out[(lo * rowBytes)..<(hi * rowBytes)]),
                         UnsafeBufferPointer(rebasing: x[(lo * rowLength)..<(hi * rowLength)]), type: type)
            after?(lo, hi)
        }
    }

    static func pad(_ file: GGUFByteSink, _ count: Int) throws {
        let zeros = [UInt8](repeating: 0, count: (alignment - count % alignment) % alignment)
        try zeros.withUnsafeBytes { try file.write($0) }
    }

    /// Names unique and at most 63 bytes, 1–4 dimensions, rows a whole number of blocks, keys unique,
    /// types writable.
    static func validate(_ tensors: [GGUFTensorPlan], metadata: [(key: String, value: GGUFValue)], path: String) throws {
        var keys = Set<String>()
        for (key, _) in metadata where !keys.insert(key).inserted {
            throw CheckpointError.writeFailed(path: path, reason: "metadata key '\(key)' is listed twice")
        }
        var names = Set<String>()
        for plan in tensors {
            guard names.insert(plan.name).inserted else {
                throw CheckpointError.writeFailed(path: path, reason: "tensor '\(plan.name)' is listed twice")
            }
            guard plan.name.utf8.count <= GGUFHeader.maxNameBytes else {
                throw CheckpointError.writeFailed(path: path, reason: "tensor name '\(plan.name)' is longer than \(GGUFHeader.maxNameBytes) bytes")
            }
            guard GGMLType.quantizable.contains(plan.type) else {
                throw CheckpointError.writeFailed(path: path, reason: "tensor '\(plan.name)': cannot write ggml type \(plan.type)")
            }
            guard (1...GGUFHeader.maxDimensions).contains(plan.dimensions.count), plan.dimensions.allSatisfy({ $0 > 0 }),
                  plan.dimensions[0] % plan.type.blockSize == 0 else {
                throw CheckpointError.writeFailed(path: path, reason: "tensor '\(plan.name)': dimensions \(plan.dimensions) do not fit \(plan.type) (rows must be a multiple of \(plan.type.blockSize))")
            }
        }
    }

    /// Magic, version 3, counts, metadata, tensor infos with aligned offsets, padding to the alignment.
    public static func headerBytes(metadata: [(key: String, value: GGUFValue)], tensors: [GGUFTensorPlan]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendLE(UInt32(0x4655_4747))
        out.appendLE(UInt32(3))
        out.appendLE(UInt64(tensors.count))
        out.appendLE(UInt64(metadata.count))
        for (key, value) in metadata {
            out.appendGGUFString(key)
            out.appendLE(value.type.rawValue)
            out.appendGGUFValue(value)
        }
        var offset = 0
        for plan in tensors {
            out.appendGGUFString(plan.name)
            out.appendLE(UInt32(plan.dimensions.count))
            for d in plan.dimensions { out.appendLE(UInt64(d)) }
            out.appendLE(plan.type.rawValue)
            out.appendLE(UInt64(offset))
            offset += (plan.byteCount + alignment - 1) / alignment * alignment
        }
        while out.count % alignment != 0 { out.append(0) }
        return out
    }
}

let ProcessInfo_cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))

/// One growable float buffer reused by every tensor of a write: allocating a slice's scratch per
/// tensor cost fresh zeroed pages each time (~4 % of a SmolLM2 export's CPU, serial). Uninitialized.
final class FloatScratch {
    private var buffer = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)

    func floats(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        if buffer.count < count {
            buffer.deallocate()
            buffer = .allocate(capacity: count)
        }
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
    }

    deinit { buffer.deallocate() }
}

extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    mutating func appendGGUFString(_ s: String) {
        appendLE(UInt64(s.utf8.count))
        append(contentsOf: s.utf8)
    }

    /// A value without its type tag (arrays carry their element type and count).
    mutating func appendGGUFValue(_ value: GGUFValue) {
        switch value {
        case let .uint8(v): appendLE(v)
        case let .int8(v): appendLE(v)
        case let .uint16(v): appendLE(v)
        case let .int16(v): appendLE(v)
        case let .uint32(v): appendLE(v)
        case let .int32(v): appendLE(v)
        case let .float32(v): appendLE(v.bitPattern)
        case let .bool(v): append(v ? 1 : 0)
        case let .string(s): appendGGUFString(s)
        case let .uint64(v): appendLE(v)
        case let .int64(v): appendLE(v)
        case let .float64(v): appendLE(v.bitPattern)
        case let .array(type, items):
            appendLE(type.rawValue)
            appendLE(UInt64(items.count))
            for item in items { appendGGUFValue(item) }
        }
    }
}
