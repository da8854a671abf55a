import XCTest

final class ModelsPlaceholder: XCTestCase {}
