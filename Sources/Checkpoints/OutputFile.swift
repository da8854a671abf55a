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
final class OutputFile {
    /// The file errors name: the destination the temporary file will be renamed to.
    let path: String
    static let bufferBytes = 8 << 20
    static let bufferCount = 3

    private var fd: Int32
    private let buffers: [UnsafeMutableRawPointer]
    private var current = 0
    private var used = 0
    private let writer = DispatchQueue(label: "whittle.output-file")
    private let freeBuffers = DispatchSemaphore(value: OutputFile.bufferCount - 1)   // the caller holds one
    private let failureLock = DispatchQueue(label: "whittle.output-file.failure")
    private var firstFailure: CheckpointError?
    private var writtenBytes: Int64 = 0   // touched only on `writer`

    /// Creates `temporary` (which must not exist); errors name `destination`.
    init(temporary: String, destination: String) throws {
        self.path = destination
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        fd = descriptor
        buffers = (0..<Self.bufferCount).map { _ in UnsafeMutableRawPointer.allocate(byteCount: Self.bufferBytes, alignment: 4096) }
    }

    deinit {
        writer.sync {}   // no write may still be reading a buffer
        buffers.forEach { $0.deallocate() }
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

    /// Free space at the end of the current buffer, at least `minimum` bytes (≤ `bufferBytes`), for a
    /// caller that produces bytes in place (a conversion writing straight into the file's buffer).
    /// `commit(n)` then appends the first `n` bytes of it.
    func reserve(minimum: Int) throws -> UnsafeMutableRawBufferPointer {
        precondition(minimum > 0 && minimum <= Self.bufferBytes, "OutputFile.reserve: minimum out of range")
        if Self.bufferBytes - used < minimum { try submit() }
        return UnsafeMutableRawBufferPointer(start: buffers[current] + used, count: Self.bufferBytes - used)
    }

    func commit(_ count: Int) throws {
        precondition(count >= 0 && used + count <= Self.bufferBytes, "OutputFile.commit: more than was reserved")
        used += count
        if used == Self.bufferBytes { try submit() }
    }

    /// Hands the current buffer to the writer queue and waits for a free one.
    private func submit() throws {
        if let failure = failure() { throw failure }
        guard used > 0 else { return }
        nonisolated(unsafe) let buffer = buffers[current]   // the queue owns it until it signals
        let count = used, descriptor = fd
        writer.async { [self] in
            if failure() == nil {
                if let error = writeAll(descriptor, buffer, count) {
                    failureLock.sync { firstFailure = error }
                } else {
                    _ = csimd_start_writeback(descriptor, writtenBytes, Int64(count))   // a hint: errors surface at fsync
                    writtenBytes += Int64(count)
                }
            }
            freeBuffers.signal()
        }
        freeBuffers.wait()
        current = (current + 1) % Self.bufferCount
        used = 0
    }

    private func failure() -> CheckpointError? { failureLock.sync { firstFailure } }

    private func writeAll(_ descriptor: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> CheckpointError? {
        var p = pointer, left = count
        while left > 0 {
            #if canImport(Glibc)
            let n = Glibc.write(descriptor, p, left)
            #else
            let n = Darwin.write(descriptor, p, left)
            #endif
            if n < 0 {
                if errno == EINTR { continue }
                return .writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            p += n; left -= n
        }
        return nil
    }

    /// Writes what is buffered, waits for the queue, then fsyncs and closes.
    func finish() throws {
        try submit()
        writer.sync {}
        if let failure = failure() { throw failure }
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
