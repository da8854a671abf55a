// Bench executable: each suite prints ratios against a ceiling measured in the same run.
import Foundation
import Whittle

print("whittle-bench: suites are added by each area (see BENCHMARKS.md)")
