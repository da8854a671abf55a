import XCTest
import Passes
@testable import Recipes
import TestSupport

/// Every recipe in fixtures/recipes/invalid/ fails with its own expected message (expected.json).
final class InvalidRecipeTests: XCTestCase {
    let folder = Fixtures.path("recipes/invalid")

    func testEveryInvalidRecipeGivesItsExpectedError() throws {
        let expected = try XCTUnwrap(Fixtures.readJSON(folder + "/expected.json") as? [String: String])
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") && $0 != "expected.json" }
        XCTAssertEqual(Set(files), Set(expected.keys), "every invalid recipe needs an expectation, and every expectation a file")
        XCTAssertGreaterThanOrEqual(files.count, 15)
        for file in files.sorted() {
            let path = folder + "/" + file
            guard let template = expected[file] else { continue }   // reported by the set comparison above
            let message = template.replacingOccurrences(of: "{file}", with: path)
                .replacingOccurrences(of: "{kinds}", with: PassRegistry.kinds.joined(separator: ", "))
            XCTAssertThrowsError(try Recipe.load(path: path), file) { error in
                guard case let .inFile(errorPath, inner)? = error as? RecipeError else {
                    return XCTFail("\(file): expected RecipeError.inFile, got \(error)")
                }
                XCTAssertEqual(errorPath, path)
                XCTAssertEqual(inner.description, message, file)
            }
        }
    }

    func testMissingRecipeFile() {
        XCTAssertThrowsError(try Recipe.load(path: "/nonexistent/recipe.json")) { error in
            XCTAssertEqual(error as? RecipeError, .fileNotFound(path: "/nonexistent/recipe.json"))
        }
    }

    func testSyntaxErrorPositionCountsLinesAndColumns() throws {
        let data = Data("{\n  \"version\": 1,\n  \"model\": x\n}".utf8)
        XCTAssertThrowsError(try Recipe.parse(data, source: "r.json")) { error in
            XCTAssertEqual(error as? RecipeError, .invalidJSON(path: "r.json", line: 3, column: 12, reason: "unexpected character"))
        }
    }
}
