import XCTest

final class CompressPlaceholder: XCTestCase {}
