import Foundation
import XCTest
@testable import Checkpoints
import Tensors

/// `OutputFile` writes exactly the bytes it is given, in order, with or without direct I/O: direct
/// writes go out in whole 4 kB units, carry the rest of a buffer into the next one, pad the last
/// write and cut the padding off again.
final class OutputFileTests: XCTestCase {
    /// A seeded mix of copies (`write`), in-place production (`reserve` + `commit`) and donated
    /// buffers (`append(donated:)`) of odd sizes over ~20 MB: buffers submitted full, submitted early
    /// to make room for a reserve, a reserve of a whole buffer after a partial one, a one-byte tail.
    func writeMix(_ file: OutputFile) throws -> [UInt8] {
        var rng = SeededGenerator(seed: 17)
        var expected: [UInt8] = []
        var sizes = (0..<60).map { _ in Int(rng.next() % 700_000) + 1 }
        sizes[27] = 100   // a donation shorter than the buffered tail's unit: nothing written at once
        sizes += [OutputFile.bufferBytes - 5, OutputFile.bufferBytes, 4096, 4095, 1]
        for (k, n) in sizes.enumerated() {
            let chunk = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ k) }
            if k % 20 == 7 {   // given away, written in place (a GGUFHeldHeader's held bytes)
                let unit = OutputFile.directAlignment
                let allocation = LargeBuffer.allocate(unit + n)
                (allocation + unit).copyMemory(from: chunk, byteCount: n)
                nonisolated(unsafe) let freed = allocation
                try file.append(donated: allocation + unit, count: n) { LargeBuffer.deallocate(freed, unit + n) }
            } else if k % 2 == 0 {
                try chunk.withUnsafeBytes { try file.write($0) }
            } else {
                let space = try file.reserve(minimum: n)
                XCTAssertGreaterThanOrEqual(space.count, n)
                space.copyBytes(from: chunk)
                try file.commit(n)
            }
            expected += chunk
        }
        try file.finish()
        return expected
    }

    func testDirectAndBufferedWritesGiveTheBytesWritten() throws {
        let folder = TemporaryFolder()
        for direct in [true, false] {
            let path = folder.file("out-\(direct)")
            let file = try OutputFile(temporary: path, destination: path, direct: direct)
            if direct && !file.aligned {
                print("OutputFileTests: \(folder.path) has no direct I/O (O_DIRECT); the direct case runs buffered")
            }
            XCTAssertTrue(direct || !file.aligned)
            let expected = try writeMix(file)
            let written = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(written.count, expected.count, "direct \(direct): file size")
            XCTAssertTrue(written == expected, "direct \(direct): bytes differ, first at \(zip(written, expected).enumerated().first { $1.0 != $1.1 }?.offset ?? -1)")
        }
    }
}
