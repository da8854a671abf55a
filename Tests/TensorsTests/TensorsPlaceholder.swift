import XCTest

final class TensorsPlaceholder: XCTestCase {}
