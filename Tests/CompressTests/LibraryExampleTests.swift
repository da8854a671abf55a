import XCTest
import Whittle
import TestSupport

/// The README's library example, compiled and run. `testReadmeShowsThisExample` keeps the two in step.
final class LibraryExampleTests: XCTestCase {
    func testLibraryExampleRuns() throws {
        FileManager.default.changeCurrentDirectoryPath(Fixtures.repoRoot)
        let output = Fixtures.repoRoot + "/out/stories260K-nf4-library"
        try? FileManager.default.removeItem(atPath: output)
        defer { try? FileManager.default.removeItem(atPath: output) }

        // README example begins
        let recipe = Recipe(
            model: "fixtures/models/stories260K",
            output: "out/stories260K-nf4-library",
            evaluation: [EvaluationSpec(name: "stories", metric: .perplexity,
                                        source: DataSource(data: "fixtures/eval/stories260k_samples.tokens", seqLen: 128))],
            passes: [NF4Quantization(blockSize: 64, doubleQuant: true)])
        let result = try Pipeline(recipe: recipe).run()
        print(result.report.comparisonTable())
        // README example ends

        XCTAssertEqual(result.report.passes.map(\.kind), ["nf4"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: output + "/report.html"))
    }

    func testReadmeShowsThisExample() throws {
        let source = try String(contentsOfFile: #filePath, encoding: .utf8)
        let readme = try String(contentsOfFile: Fixtures.repoRoot + "/README.md", encoding: .utf8)
        let start = try XCTUnwrap(source.range(of: "// README example begins\n")).upperBound
        let end = try XCTUnwrap(source.range(of: "        // README example ends")).lowerBound
        let example = source[start..<end].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("        ") ? String($0.dropFirst(8)) : String($0) }.joined(separator: "\n")
        XCTAssertTrue(readme.contains(example), "README.md must show the library example exactly as this test runs it:\n\(example)")
    }
}
