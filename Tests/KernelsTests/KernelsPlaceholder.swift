import XCTest

final class KernelsPlaceholder: XCTestCase {}
