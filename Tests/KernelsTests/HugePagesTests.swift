import XCTest
import Kernels
import TestSupport

/// `backWithHugePages` (CSIMD huge_pages.c, Linux MADV_COLLAPSE) only changes how memory is mapped: the
/// values stay, and it reports at most the whole 2 MB pages inside the ranges, in whole pages.
final class HugePagesTests: XCTestCase {
    func testValuesStayAndTheReportCoversOnlyWholePagesInside() {
        var rng = SeededNormal(seed: 44)
        let huge = 2 << 20
        let arrays = [rng.array(3 * huge / 4 + 1234), rng.array(1000), rng.array(huge / 8 + 5)]   // ≈ 6 MB, 4 kB, 1 MB
        let copies = arrays.map { $0.map { $0 } }   // own storage, not a shared buffer
        var ranges: [(pointer: UnsafeRawPointer, bytes: Int)] = []
        for a in arrays { a.withUnsafeBytes { ranges.append(($0.baseAddress!, $0.count)) } }
        let done = backWithHugePages(ranges)
        XCTAssertEqual(done % huge, 0, "\(done) bytes is not whole huge pages")
        // Ranges less than a page apart merge, so the bound is the pages inside their overall span.
        let lo = ranges.map { Int(bitPattern: $0.pointer) }.min()!, hi = ranges.map { Int(bitPattern: $0.pointer) + $0.bytes }.max()!
        XCTAssertLessThanOrEqual(done, max(0, hi / huge * huge - (lo + huge - 1) / huge * huge))
        if hugePagesExpected() {   // the 6 MB array holds at least two whole 2 MB pages
            XCTAssertGreaterThanOrEqual(done, 2 * huge, "Linux ≥ 6.1 with THP on, yet no huge page collapsed")
        } else {
            print("HugePagesTests: no THP here (not Linux ≥ 6.1, or transparent_hugepage `never`): only the values are checked")
        }
        for (a, c) in zip(arrays, copies) { XCTAssertEqual(a, c) }
    }
}

/// Linux ≥ 6.1 (MADV_COLLAPSE) with transparent huge pages not `never`.
func hugePagesExpected() -> Bool {
    guard let release = try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8),
          let mode = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8) else { return false }
    let v = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
    return v.count == 2 && (v[0], v[1]) >= (6, 1) && !mode.contains("[never]")
}
