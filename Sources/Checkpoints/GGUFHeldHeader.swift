import Dispatch

/// Where `GGUFWriter` puts bytes: the output file, or the file behind a header still being computed.
protocol GGUFByteSink: AnyObject {
    func reserve(minimum: Int) throws -> UnsafeMutableRawBufferPointer
    func commit(_ count: Int) throws
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

extension OutputFile: GGUFByteSink {}

/// The data section started before the header exists. A GGUF header holds the metadata, and the
/// tokenizer part of it (parsing tokenizer.json and building ~100 k values) is serial work as long as
/// quantizing the first tensors; so the header is computed on another thread while the tensors'
/// bytes are held here, in order, up to `capacity` bytes. At the cap — or at the end — the header is
/// awaited, written, the held bytes after it, and from then on everything goes straight to `file`.
/// The held bytes are not copied: the file writes them from this buffer and frees it
/// (`OutputFile.append(donated:)`). Memory: at most `capacity` bytes more than a plain write
/// (touched only as far as used).
final class GGUFHeldHeader: GGUFByteSink {
    let capacity: Int
    let file: OutputFile
    /// The allocation: one `OutputFile.directAlignment` of room (`append(donated:)`), then the held bytes.
    private var base: UnsafeMutableRawPointer?
    private var held: UnsafeMutableRawPointer? { base.map { $0 + OutputFile.directAlignment } }
    private var count = 0
    private let done = DispatchGroup()
    private var header: Result<[UInt8], Error>?

    /// Starts `makeHeader` on another thread; holds at most `capacity` bytes before waiting for it.
    init(file: OutputFile, capacity: Int = 32 << 20, makeHeader: @escaping () throws -> [UInt8]) {
        self.file = file
        self.capacity = capacity
        base = LargeBuffer.allocate(OutputFile.directAlignment + capacity)
        nonisolated(unsafe) let box = self
        DispatchQueue.global().async(group: done) { box.header = Result { try makeHeader() } }
    }

    deinit {
        done.wait()   // the header thread may not outlive the buffer it is about to be written before
        if let base { LargeBuffer.deallocate(base, OutputFile.directAlignment + capacity) }
    }

    func reserve(minimum: Int) throws -> UnsafeMutableRawBufferPointer {
        if let held, capacity - count >= minimum {
            return UnsafeMutableRawBufferPointer(start: held + count, count: min(capacity - count, OutputFile.bufferBytes))
        }
        try release()
        return try file.reserve(minimum: minimum)
    }

    func commit(_ count: Int) throws {
        if held != nil { self.count += count } else { try file.commit(count) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let held, capacity - count >= bytes.count {
            if let base = bytes.baseAddress { (held + count).copyMemory(from: base, byteCount: bytes.count) }
            count += bytes.count
        } else {
            try release()
            try file.write(bytes)
        }
    }

    /// Waits for the header and writes it and the held bytes to the file (once); rethrows the header's error.
    func release() throws {
        guard let base, let held else { return }
        done.wait()
        let header = try self.header!.get()
        try header.withUnsafeBytes { try file.write($0) }
        self.base = nil   // the file's now
        nonisolated(unsafe) let allocation = base
        let bytes = OutputFile.directAlignment + capacity
        try file.append(donated: held, count: count) { LargeBuffer.deallocate(allocation, bytes) }
    }
}

/// Metadata computed on another thread from the moment it is created; `get` (once) waits for it
/// and returns it or rethrows its error.
final class GGUFPendingMetadata: @unchecked Sendable {
    private let done = DispatchGroup()
    private var result: Result<[(key: String, value: GGUFValue)], Error>?

    init(_ compute: @escaping @Sendable () throws -> [(key: String, value: GGUFValue)]) {
        DispatchQueue.global().async(group: done) { [self] in result = Result { try compute() } }
    }

    /// Once: the entries are handed over, not kept (~100 k values freed by whoever is done with them,
    /// the header thread, not the writer's at its end).
    func get() throws -> [(key: String, value: GGUFValue)] {
        done.wait()
        defer { result = nil }
        return try result!.get()
    }
}
