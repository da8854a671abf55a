import XCTest

final class RecipesPlaceholder: XCTestCase {}
