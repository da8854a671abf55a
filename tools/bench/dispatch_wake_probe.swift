// How late the second iteration of a two-iteration `DispatchQueue.concurrentPerform` starts, after the
// process has been idle 0, 2 ms or 0.15 s (each iteration spins 3 ms, as one chunk of a product would):
// the case of `splitWork` before session 11, when it ran on Dispatch (BENCHMARKS.md, session 11).
//   swiftc -O tools/bench/dispatch_wake_probe.swift -o /tmp/dispatch_wake_probe && /tmp/dispatch_wake_probe
import Foundation
import Dispatch
func now() -> UInt64 { var t = timespec(); clock_gettime(CLOCK_MONOTONIC, &t); return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec) }
func spin(_ ns: UInt64) { let t = now(); while now() - t < ns {} }
for settle in [0.0, 0.002, 0.15] {
  var lat: [Double] = []
  for _ in 0..<10 {
    if settle > 0 { usleep(UInt32(settle * 1e6)) }
    let t0 = now()
    var start = [UInt64](repeating: 0, count: 2)
    start.withUnsafeMutableBufferPointer { s in
      DispatchQueue.concurrentPerform(iterations: 2) { w in s[w] = now(); spin(3_000_000) }
    }
    lat.append(Double(max(start[0], start[1]) - t0) / 1000)
  }
  print("settle \(settle): later iteration starts after µs:", lat.map { String(format: "%.0f", $0) }.joined(separator: " "))
}
