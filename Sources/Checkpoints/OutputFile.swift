#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSIMD
import Dispatch

/// An append-only file written behind its caller. Bytes gather in one of a few buffers; a full
/// buffer goes to a serial background queue that `write(2)`s it while the caller fills the next,
/// so producing the bytes (converting, quantizing, faulting in the source) overlaps the kernel's
/// copy into the page cache — on this project's machines that copy, not our code, is the slowest
/// step (BENCHMARKS.md, Checkpoints). Each written buffer's disk write is started right away
/// (`csimd_start_writeback`), so the disk works while the next buffers are produced and `finish`'s
/// fsync waits only for the tail instead of the whole file. Errors (disk full, permissions) name the path; the first one
/// is thrown by the next call after it happened, and by `finish`.
///
/// `direct`: the file is written with direct I/O where the file system has it (O_DIRECT), so the
/// kernel does not copy the bytes into the page cache at all — for a quantized GGUF that copy was a
/// third of the CPU time (BENCHMARKS.md, GGUF speed, branch gguf-q4). Direct writes must be whole
/// multiples of `directAlignment` at aligned offsets: a buffer goes out up to its last full unit and
/// the rest moves to the front of the next one; the last write is padded with zeros and the file
/// truncated to its true length before the fsync. A write the device still refuses as misaligned
/// (EINVAL) is retried without direct I/O. The file's bytes are the same either way.
final class OutputFile {
    /// The file errors name: the destination the temporary file will be renamed to.
    let path: String
    static let bufferBytes = 8 << 20
    static let bufferCount = 3
    /// Offsets, lengths and buffer addresses of direct writes are multiples of this (the page size,
    /// a multiple of every logical block size ≤ 4 kB).
    static let directAlignment = 4096

    private var fd: Int32
    /// Writes whole `directAlignment` units (the file was opened for direct I/O).
    let aligned: Bool
    private let buffers: [UnsafeMutableRawPointer]
    private var current = 0
    private var used = 0
    private var length: Int64 = 0   // bytes committed: the file's final size
    private let writer = DispatchQueue(label: "whittle.output-file")
    private let freeBuffers = DispatchSemaphore(value: OutputFile.bufferCount - 1)   // the caller holds one
    private let failureLock = DispatchQueue(label: "whittle.output-file.failure")
    private var firstFailure: CheckpointError?
    private var writtenBytes: Int64 = 0   // touched only on `writer`

    /// Creates `temporary` (which must not exist); errors name `destination`. `direct`: with direct I/O
    /// where available (type comment).
    init(temporary: String, destination: String, direct: Bool = false) throws {
        self.path = destination
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        fd = descriptor
        aligned = direct && csimd_set_direct(descriptor, 1) == 0
        buffers = (0..<Self.bufferCount).map { _ in LargeBuffer.allocate(Self.bufferBytes + Self.directAlignment) }
    }

    deinit {
        writer.sync {}   // no write may still be reading a buffer
        buffers.forEach { LargeBuffer.deallocate($0, Self.bufferBytes + Self.directAlignment) }
        if fd >= 0 { close(fd) }
    }

    /// Appends a copy of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var source = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let space = try reserve(minimum: 1)
            let n = min(remaining, space.count)
            space.baseAddress!.copyMemory(from: source, byteCount: n)
            try commit(n)
            source += n; remaining -= n
        }
    }

    /// Appends the `count` bytes at `bytes` without copying them into the buffers: the writer queue
    /// writes them from where they are, then calls `done` (which may free them). `bytes` must be
    /// `directAlignment`-aligned with `directAlignment` bytes before it that may be overwritten: for
    /// direct writes the bytes move back by less than that (on the writer queue), behind the tail
    /// still buffered, so that they start at an aligned file offset (the bytes GGUFHeldHeader held
    /// while the header was being computed: no copy through the buffers, no wait for their writes).
    func append(donated bytes: UnsafeMutableRawPointer, count: Int, done: @escaping @Sendable () -> Void) throws {
        if let failure = failure() { done(); throw failure }
        let unit = Self.directAlignment
        precondition(Int(bitPattern: bytes) % unit == 0, "OutputFile.append(donated:): bytes not aligned")
        var start = bytes, total = count, carried = 0
        if aligned {
            if used >= unit { try submit() }   // the whole units; the tail (< unit) stays, at the buffer's front
            if used > 0 {   // it goes in front of the bytes, which the writer queue moves back behind it
                carried = used
                (bytes - unit).copyMemory(from: buffers[current], byteCount: carried)
                start = bytes - unit
                total = carried + count
            }
        } else {
            try submit()
        }
        let whole = aligned ? total / unit * unit : total, tail = total - whole
        // The tail goes back into the buffer (copied from where the bytes are still unmoved) before
        // `done` may free them: region byte k ≥ carried is byte k − carried of `bytes`. Less than one
        // unit in all (whole = 0 < carried): the carried bytes stay where they are and the bytes follow.
        if tail > 0 {
            if whole >= carried {
                buffers[current].copyMemory(from: bytes + (whole - carried), byteCount: tail)
            } else {
                (buffers[current] + carried).copyMemory(from: bytes, byteCount: count)
            }
        }
        used = tail
        length += Int64(count)
        nonisolated(unsafe) let region = start, source = bytes
        let descriptor = fd, aligned = aligned, carriedBytes = carried
        writer.async { [self] in
            // The move runs here, beside the quantizing threads, not on the caller's thread.
            if carriedBytes > 0, whole > 0 {
                (region + carriedBytes).moveInitializeMemory(as: UInt8.self, from: source.assumingMemoryBound(to: UInt8.self), count: count)
            }
            if failure() == nil, whole > 0 {
                if let error = writeAll(descriptor, region, whole, direct: aligned) {
                    failureLock.sync { firstFailure = error }
                } else {
                    if !aligned { _ = csimd_start_writeback(descriptor, writtenBytes, Int64(whole)) }
                    writtenBytes += Int64(whole)
                }
            }
            done()
        }
    }

    /// Free space at the end of the current buffer, at least `minimum` bytes (≤ `bufferBytes`), for a
    /// caller that produces bytes in place (a conversion writing straight into the file's buffer).
    /// `commit(n)` then appends the first `n` bytes of it.
    func reserve(minimum: Int) throws -> UnsafeMutableRawBufferPointer {
        precondition(minimum > 0 && minimum <= Self.bufferBytes, "OutputFile.reserve: minimum out of range")
        if capacity - used < minimum { try submit() }
        return UnsafeMutableRawBufferPointer(start: buffers[current] + used, count: capacity - used)
    }

    func commit(_ count: Int) throws {
        precondition(count >= 0 && used + count <= capacity, "OutputFile.commit: more than was reserved")
        used += count
        length += Int64(count)
        if used >= Self.bufferBytes { try submit() }
    }

    /// A buffer's usable bytes: with direct writes, room for the < `directAlignment` bytes carried
    /// over from the previous buffer besides a full `bufferBytes`.
    private var capacity: Int { Self.bufferBytes + (aligned ? Self.directAlignment : 0) }

    /// Hands the current buffer to the writer queue and waits for a free one. Direct writes: all
    /// whole units go, the rest is carried to the next buffer, or — `last` — padded with zeros.
    private func submit(last: Bool = false) throws {
        if let failure = failure() { throw failure }
        guard used > 0 else { return }
        let unit = Self.directAlignment
        var count = used
        if aligned && last {
            count = (used + unit - 1) / unit * unit
            (buffers[current] + used).initializeMemory(as: UInt8.self, repeating: 0, count: count - used)
        } else if aligned {
            count = used / unit * unit   // > 0: a buffer is submitted full, or to make room for ≤ bufferBytes
        }
        nonisolated(unsafe) let buffer = buffers[current]   // the queue owns it until it signals
        let descriptor = fd, aligned = aligned, written = count
        writer.async { [self] in
            if failure() == nil {
                if let error = writeAll(descriptor, buffer, written, direct: aligned) {
                    failureLock.sync { firstFailure = error }
                } else {
                    // A hint: errors surface at fsync. Direct writes are on the disk already.
                    if !aligned { _ = csimd_start_writeback(descriptor, writtenBytes, Int64(written)) }
                    writtenBytes += Int64(written)
                }
            }
            freeBuffers.signal()
        }
        freeBuffers.wait()
        let next = (current + 1) % Self.bufferCount, carried = max(0, used - written)
        // The queue reads the old buffer's first `written` bytes meanwhile; this reads only past them.
        if carried > 0 { buffers[next].copyMemory(from: buffer + written, byteCount: carried) }
        current = next
        used = carried
    }

    private func failure() -> CheckpointError? { failureLock.sync { firstFailure } }

    /// `direct`: a write refused as misaligned (EINVAL) turns direct I/O off and is retried.
    private func writeAll(_ descriptor: Int32, _ pointer: UnsafeRawPointer, _ count: Int, direct: Bool) -> CheckpointError? {
        var p = pointer, left = count, direct = direct
        while left > 0 {
            #if canImport(Glibc)
            let n = Glibc.write(descriptor, p, left)
            #else
            let n = Darwin.write(descriptor, p, left)
            #endif
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EINVAL, direct, csimd_set_direct(descriptor, 0) == 0 { direct = false; continue }
                return .writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            p += n; left -= n
        }
        return nil
    }

    /// Writes what is buffered, waits for the queue, then (direct writes: cuts the padding of the last
    /// one) fsyncs and closes.
    func finish() throws {
        try submit(last: true)
        writer.sync {}
        if let failure = failure() { throw failure }
        if aligned && writtenBytes != length {
            guard ftruncate(fd, off_t(length)) == 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        }
        guard fsync(fd) == 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        guard close(fd) == 0 else { fd = -1; throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        fd = -1
    }

    /// Stops after the writes already queued and closes the file (the caller removes it).
    func abandon() {
        writer.sync {}
        if fd >= 0 { close(fd); fd = -1 }
    }
}

/// Memory for the writers' large buffers, page-aligned, in 2 MB pages where the kernel gives them
/// (Linux MADV_HUGEPAGE): filling 8 MB then takes 4 page faults instead of 2,048 — a tenth of a
/// quantized GGUF export's CPU time went to those faults (BENCHMARKS.md, GGUF speed, branch gguf-q4).
/// Pages are still touched only as used.
enum LargeBuffer {
    static let hugePage = 2 << 20

    static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        #if os(Linux)
        let length = (bytes + hugePage - 1) / hugePage * hugePage   // whole 2 MB pages: the kernel then aligns the mapping to them
        guard let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            fatalError("LargeBuffer: cannot map \(length) bytes: \(String(cString: strerror(errno)))")
        }
        _ = madvise(p, length, 14 /* MADV_HUGEPAGE */)
        return p
        #else
        return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        #endif
    }

    static func deallocate(_ p: UnsafeMutableRawPointer, _ bytes: Int) {
        #if os(Linux)
        munmap(p, (bytes + hugePage - 1) / hugePage * hugePage)
        #else
        p.deallocate()
        #endif
    }
}
