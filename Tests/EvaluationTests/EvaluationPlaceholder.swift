import XCTest

final class EvaluationPlaceholder: XCTestCase {}
