import Foundation
import Tensors
import XCTest

extension XCTestCase {
    /// A seeded generator for this test's random inputs. The seed is `WHITTLE_TEST_SEED` when set (to
    /// replay or explore), else `seed`; when the test fails, the seed is printed so the failure replays.
    public func seededGenerator(_ seed: UInt64) -> SeededGenerator {
        let chosen = ProcessInfo.processInfo.environment["WHITTLE_TEST_SEED"].flatMap { UInt64($0) } ?? seed
        addTeardownBlock { [weak self] in
            if let run = self?.testRun, run.failureCount + run.unexpectedExceptionCount > 0 {
                print("\(self?.name ?? "test") failed with random seed \(chosen) (replay: WHITTLE_TEST_SEED=\(chosen))")
            }
        }
        return SeededGenerator(seed: chosen)
    }
}
