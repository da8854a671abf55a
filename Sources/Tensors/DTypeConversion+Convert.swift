extension DTypeConversion {
    /// Converts `src` holding `from` values to `to` values in `dst`, through Float32 in cache-sized
    /// blocks (never a whole-tensor Float copy). Same type is a plain copy.
    public static func convert(_ src: UnsafeRawBufferPointer, from: DType, into dst: UnsafeMutableRawBufferPointer, to: DType) {
        let n = src.count / from.byteSize
        precondition(src.count == n * from.byteSize && dst.count == n * to.byteSize, "DTypeConversion.convert: byte count mismatch")
        precondition(to.isWritableFromFloat || to == from, "DTypeConversion.convert: \(to) is read-only")
        guard n > 0, let input = src.baseAddress, let output = dst.baseAddress else { return }
        if from == to { output.copyMemory(from: input, byteCount: src.count); return }
        let block = 8192
        chunked(n) { range in
            if from == .F32 {
                storeChunk(input.assumingMemoryBound(to: Float.self) + range.lowerBound, to, output + range.lowerBound * to.byteSize, range.count)
                return
            }
            if to == .F32 {
                loadChunk(input + range.lowerBound * from.byteSize, from, output.assumingMemoryBound(to: Float.self) + range.lowerBound, range.count)
                return
            }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { scratch in
                var start = range.lowerBound
                while start < range.upperBound {
                    let count = min(block, range.upperBound - start)
                    loadChunk(input + start * from.byteSize, from, scratch.baseAddress!, count)
                    storeChunk(scratch.baseAddress!, to, output + start * to.byteSize, count)
                    start += count
                }
            }
        }
    }
}
