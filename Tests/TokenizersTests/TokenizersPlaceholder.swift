import XCTest

final class TokenizersPlaceholder: XCTestCase {}
