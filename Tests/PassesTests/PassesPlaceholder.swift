import XCTest

final class PassesPlaceholder: XCTestCase {}
