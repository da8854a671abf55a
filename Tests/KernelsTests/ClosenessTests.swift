import TestSupport
import XCTest

/// The comparison every reference test relies on: tolerances, and non-finite values matched exactly.
final class ClosenessTests: XCTestCase {
    func testFiniteValuesWithinToleranceAreClose() {
        XCTAssertNil(closeness([1, 2, 3], [1.05, 2, 3], atol: 0.06))
        XCTAssertNotNil(closeness([1, 2, 3], [1.1, 2, 3], atol: 0.06))
        XCTAssertNil(closeness([100], [101], atol: 0, rtol: 0.011))
    }

    func testInfinityMatchesOnlyTheSameInfinity() {
        for rtol: Float in [0, 1e-3] {
            XCTAssertNotNil(closeness([1e30], [.infinity], atol: 1e-3, rtol: rtol), "finite vs expected +∞ (rtol \(rtol))")
            XCTAssertNotNil(closeness([.infinity], [1e30], atol: 1e-3, rtol: rtol), "+∞ vs expected finite")
            XCTAssertNotNil(closeness([-.infinity], [.infinity], atol: 1e-3, rtol: rtol), "−∞ vs +∞")
            XCTAssertNotNil(closeness([0], [-.infinity], atol: 1e-3, rtol: rtol))
            XCTAssertNil(closeness([.infinity, -.infinity], [.infinity, -.infinity], atol: 1e-3, rtol: rtol))
        }
    }

    func testNaNMatchesOnlyNaN() {
        XCTAssertNil(closeness([.nan, 1], [.nan, 1], atol: 0))
        XCTAssertNotNil(closeness([.nan], [0], atol: 1))
        XCTAssertNotNil(closeness([0], [.nan], atol: 1))
        XCTAssertNotNil(closeness([.nan], [.infinity], atol: 1))
    }

    func testMessageNamesTheNonFiniteMismatch() {
        let message = closeness([1, 5], [1, .infinity], atol: 1e-3, rtol: 1e-3) ?? ""
        XCTAssertTrue(message.contains("1 of 2 values differ"), message)
        XCTAssertTrue(message.contains("worst at [1]: 5.0 vs inf"), message)
    }
}
