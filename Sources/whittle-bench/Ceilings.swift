import Foundation
import Whittle

/// memcpy bandwidth in GB/s over a buffer larger than the caches (copy of `bytes` bytes, best of 5).
func memcpyBandwidth(bytes: Int = 512 << 20) -> Double {
    let src = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    let dst = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    defer { src.deallocate(); dst.deallocate() }
    memset(src, 1, bytes); memset(dst, 0, bytes)
    var best = Double.infinity
    for _ in 0..<5 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        memcpy(dst, src, bytes)
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return Double(bytes) / best / 1e9
}

func runCeilingsBench() throws {
    print(String(format: "memcpy bandwidth: %.2f GB/s", memcpyBandwidth()))
}

/// Peak resident set (VmHWM) in MB (2^20 bytes); `resetPeakRSS` restarts it (Linux `clear_refs` 5).
func peakRSSMegabytes() -> Double {
    Double(peakRSSBytes() ?? 0) / 1_048_576
}

func resetPeakRSS() {
    if let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") { h.write(Data("5".utf8)); try? h.close() }
}
