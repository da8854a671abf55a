import CSIMD
import Foundation
import XCTest
@testable import Kernels
import TestSupport

/// `splitWork` (the long products' split over the cores: NF4 panels and rows, `tiledMatmul`'s tiles) and
/// CSIMD pool.c, whose helpers keep to cores of their own.
final class SplitWorkTests: XCTestCase {
    /// Every chunk of 0..<count is handed out exactly once, `chunk` items long but the last, whatever
    /// the number of threads (more threads than chunks, one chunk, none).
    func testEveryChunkIsHandedOutOnce() {
        for (count, chunk, workers) in [(1000, 7, 4), (5, 64, 2), (0, 3, 2), (130, 1, 8), (128, 64, 3), (129, 64, 2), (77, 10, 1)] {
            let lock = NSLock()
            var ranges: [(Int, Int)] = []
            splitWork(count, workers: workers, chunk: chunk, work: 1 << 24) { next in
                while let r = next() {
                    lock.lock(); ranges.append(r); lock.unlock()
                }
            }
            ranges.sort { $0.0 < $1.0 }
            let expected = stride(from: 0, to: count, by: chunk).map { ($0, min(count, $0 + chunk)) }
            XCTAssertEqual(ranges.map(\.0), expected.map(\.0), "count \(count) chunk \(chunk) workers \(workers)")
            XCTAssertEqual(ranges.map(\.1), expected.map(\.1), "count \(count) chunk \(chunk) workers \(workers)")
        }
    }

    /// Tiles as long as allowed but cut evenly over the threads: a 256-row weight gives each of 2 cores
    /// 128 rows, 600 rows in 256-row tiles four chunks of 150.
    func testEvenChunks() {
        XCTAssertEqual(evenChunk(256, workers: 2, most: 256), 128)
        XCTAssertEqual(evenChunk(600, workers: 2, most: 256), 150)
        XCTAssertEqual(evenChunk(5632, workers: 2, most: 256), 256)
        XCTAssertEqual(evenChunk(2048, workers: 2, most: 256), 256)
        XCTAssertEqual(evenChunk(130, workers: 1, most: 256), 130)
        XCTAssertEqual(evenChunk(7, workers: 8, most: 256), 1)
        XCTAssertEqual(evenChunk(0, workers: 2, most: 64), 1)
    }

    /// The pool's helper, woken after it has gone to sleep, runs on a core of its own, never the caller's
    /// (pool.c pins it there before the wake): both seats of a job run at once on two different cores.
    func testPoolHelperWakesOnACoreOfItsOwn() {
        let cores = csimd_allowed_cores()
        guard cores >= 2, getenv("WHITTLE_POOL_PIN").map({ String(cString: $0) != "0" }) ?? true else {
            print("SplitWorkTests: skipped, this process may run on \(cores) core(s) (or WHITTLE_POOL_PIN=0); pinning needs two")
            return
        }
        final class Seats: @unchecked Sendable {   // each seat's core, written by its own thread
            var cpu: [Int32] = [-1, -1]
            var started = [false, false]
            let lock = NSLock()
        }
        for round in 0..<3 {
            usleep(200_000)   // the helper stops spinning after ≈ 0.1 ms and sleeps
            let seats = Seats()
            var context = seats
            let ran = withUnsafeMutablePointer(to: &context) { pointer in
                csimd_pool_run_workers({ context, w, _ in
                    let seats = context!.assumingMemoryBound(to: Seats.self).pointee
                    seats.lock.lock(); seats.started[Int(w)] = true; seats.cpu[Int(w)] = csimd_this_cpu(); seats.lock.unlock()
                    // Each seat waits (up to 1 s) for the other one to start, so both run at once.
                    let until = Date().addingTimeInterval(1)
                    while Date() < until {
                        seats.lock.lock(); let both = seats.started[0] && seats.started[1]; seats.lock.unlock()
                        if both { break }
                    }
                }, pointer, 2, Double(1 << 30))
            }
            XCTAssertEqual(ran, 1, "round \(round)")
            XCTAssertTrue(seats.started[0] && seats.started[1], "round \(round): both seats ran")
            XCTAssertNotEqual(seats.cpu[0], seats.cpu[1], "round \(round): caller and helper on one core")
            XCTAssertTrue(seats.cpu.contains(csimd_pool_helper_core(0)), "round \(round): the helper runs on its pinned core")
        }
    }

    /// The NF4 products that `splitWork` splits, on both cores, equal the naive oracle with odd shapes:
    /// M = 16 (the register-decoding kernel, 64-row chunks, N not a multiple of 64), M = 67 (64-row
    /// panels one per chunk, K past one 256-column panel), and the tiled path (48-row tiles → 256 from
    /// M = 64, N = 600: four tiles of 150 rows; M = 5: 46-row tiles, the last 14).
    func testNF4ProductsSplitOverThreadsEqualNaive() {
        var rng = SeededNormal(seed: 41)
        for (M, N, K, blockSize, fusedRows) in [(16, 1000, 320, 64, Int.max), (67, 333, 288, 64, Int.max), (19, 203, 96, 32, Int.max),
                                                 (70, 600, 96, 64, 0), (5, 1000, 288, 64, 0)] {
            let w = rng.array(N * K), x = rng.array(M * K), bias = rng.array(N)
            let q = w.withUnsafeBufferPointer { NF4Tensor.quantize($0, shape: [N, K], blockSize: blockSize) }
            let matrix = NF4Matrix(q)
            var naive = [Float](repeating: 0, count: M * N), fast = naive
            nf4LinearNaive(y: &naive, x: x, weight: matrix, bias: bias, m: M)
            nf4LinearForward(y: &fast, x: x, weight: matrix, bias: bias, m: M, tileRows: 48, fusedRows: fusedRows)
            assertClose(fast, naive, atol: 1e-4, rtol: 1e-5, "M \(M) N \(N) K \(K) block \(blockSize) fusedRows \(fusedRows)")
        }
    }
}
