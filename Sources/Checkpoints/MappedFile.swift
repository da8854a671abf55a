#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Tensors

/// A read-only memory map of a whole file. Tensors read from it are views that keep it alive,
/// so a model larger than RAM is paged in on demand rather than loaded.
public final class MappedFile: PageReleasing, @unchecked Sendable {
    public let path: String
    public let size: Int
    public let base: UnsafeRawPointer?

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { throw CheckpointError.fileNotFound(path: path) }
            throw CheckpointError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw CheckpointError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError.unreadable(path: path, reason: "not a regular file")
        }
        size = Int(st.st_size)
        if size == 0 { base = nil; return }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw CheckpointError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    /// Drops the pages of the byte range from this process (bounded RSS while streaming); the
    /// data stays valid and is paged in again from the file when touched.
    public func release(offset: Int, count: Int) {
        guard let base, count > 0, offset >= 0, offset < size else { return }
        let start = (offset / MappedFile.pageSize) * MappedFile.pageSize
        let end = min(size, offset + count)
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    public func releasePages(_ start: UnsafeRawPointer, count: Int) {
        guard let base else { return }
        release(offset: start - base, count: count)
    }

    /// Populates the page tables for the range in one call (Linux ≥ 5.14 MADV_POPULATE_READ; a
    /// no-op where unsupported), so streaming a tensor does not take a page fault every 64 kB.
    public func prefetch(offset: Int, count: Int) {
        #if os(Linux)
        guard let base, count > 0, offset >= 0, offset < size else { return }
        let start = (offset / MappedFile.pageSize) * MappedFile.pageSize
        let end = min(size, offset + count)
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, 22 /* MADV_POPULATE_READ */)
        #endif
    }

    public func prefetchPages(_ start: UnsafeRawPointer, count: Int) {
        guard let base else { return }
        prefetch(offset: start - base, count: count)
    }

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
}
