import XCTest

final class CheckpointsPlaceholder: XCTestCase {}
