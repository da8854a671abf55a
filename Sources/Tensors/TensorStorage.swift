#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An owner of viewed bytes that can drop their pages from memory (a memory-mapped file):
/// they stay valid and are read back from the file when touched again.
public protocol PageReleasing: AnyObject {
    func releasePages(_ start: UnsafeRawPointer, count: Int)
    /// Maps the pages in with one call instead of one fault per few pages (a hint; may do nothing).
    func prefetchPages(_ start: UnsafeRawPointer, count: Int)
}

/// Raw bytes of one tensor: either owned memory or a view into a memory-mapped file.
/// A view keeps its owner (the mapping) alive; owned memory is freed on deinit.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeRawPointer
    public let byteCount: Int
    private let owner: AnyObject?
    private let owned: Bool

    /// Allocates `byteCount` zeroed bytes, 64-byte aligned.
    public init(zeroedByteCount byteCount: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
        self.pointer = UnsafeRawPointer(raw)
        self.byteCount = byteCount
        self.owner = nil
        self.owned = true
    }

    /// Allocates `byteCount` bytes, 64-byte aligned, for a caller that fills every byte before reading.
    public init(uninitializedByteCount byteCount: Int) {
        self.pointer = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64))
        self.byteCount = byteCount
        self.owner = nil
        self.owned = true
    }

    /// A view of `byteCount` bytes at `pointer`, kept valid by `owner`.
    public init(viewing pointer: UnsafeRawPointer, byteCount: Int, owner: AnyObject) {
        self.pointer = pointer
        self.byteCount = byteCount
        self.owner = owner
        self.owned = false
    }

    deinit {
        if owned { UnsafeMutableRawPointer(mutating: pointer).deallocate() }
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: byteCount) }

    /// For a view of a memory-mapped file: lets the kernel drop the pages of `offset..<offset+count`
    /// (bounded resident memory while streaming). Owned memory is left alone.
    public func releasePages(offset: Int = 0, count: Int? = nil) {
        let n = count ?? byteCount - offset
        precondition(offset >= 0 && n >= 0 && offset + n <= byteCount, "TensorStorage.releasePages: range out of bounds")
        if !owned, n > 0, let owner = owner as? PageReleasing { owner.releasePages(pointer + offset, count: n) }
    }

    /// For a view of a memory-mapped file: asks for `offset..<offset+count` to be mapped in ahead of a read.
    public func prefetchPages(offset: Int = 0, count: Int? = nil) {
        let n = count ?? byteCount - offset
        precondition(offset >= 0 && n >= 0 && offset + n <= byteCount, "TensorStorage.prefetchPages: range out of bounds")
        if !owned, n > 0, let owner = owner as? PageReleasing { owner.prefetchPages(pointer + offset, count: n) }
    }

    /// Mutable access; only valid for owned storage.
    public var mutableBytes: UnsafeMutableRawBufferPointer {
        precondition(owned, "TensorStorage: a memory-mapped view is read-only")
        return UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: pointer), count: byteCount)
    }
}
