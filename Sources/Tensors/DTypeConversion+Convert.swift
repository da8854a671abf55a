import CSIMD

extension DTypeConversion {
    /// Converts `src` holding `from` values to `to` values in `dst`, through Float32 in cache-sized
    /// blocks (never a whole-tensor Float copy). Same type is a plain copy.
    public static func convert(_ src: UnsafeRawBufferPointer, from: DType, into dst: UnsafeMutableRawBufferPointer, to: DType) {
        let n = src.count / from.byteSize
        precondition(src.count == n * from.byteSize && dst.count == n * to.byteSize, "DTypeConversion.convert: byte count mismatch")
        precondition(to.isWritableFromFloat || to == from, "DTypeConversion.convert: \(to) is read-only")
        guard n > 0, let input = src.baseAddress, let output = dst.baseAddress else { return }
        if from == to { output.copyMemory(from: input, byteCount: src.count); return }
        chunked(n) { range in
            if from == .F32 {
                storeChunk(input.assumingMemoryBound(to: Float.self) + range.lowerBound, to, output + range.lowerBound * to.byteSize, range.count)
                return
            }
            if (from, to) == (.BF16, .F16) || (from, to) == (.F16, .BF16) {   // straight, in registers
                let s = input.assumingMemoryBound(to: UInt16.self) + range.lowerBound
                let d = output.assumingMemoryBound(to: UInt16.self) + range.lowerBound
                let done = from == .BF16 ? csimd_bf16_to_f16(s, d, range.count) : csimd_f16_to_bf16(s, d, range.count)
                if done == range.count { return }
                convertThroughFloat(input, from, output, to, (range.lowerBound + done)..<range.upperBound)
                return
            }
            if to == .F32 {
                loadChunk(input + range.lowerBound * from.byteSize, from, output.assumingMemoryBound(to: Float.self) + range.lowerBound, range.count)
                return
            }
            convertThroughFloat(input, from, output, to, range)
        }
    }

    /// `range` of `input` converted through Float32 in cache-sized blocks.
    static func convertThroughFloat(_ input: UnsafeRawPointer, _ from: DType, _ output: UnsafeMutableRawPointer, _ to: DType,
                                    _ range: Range<Int>) {
        let block = 8192
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
