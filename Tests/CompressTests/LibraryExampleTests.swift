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
        // The original's perplexity is transformers' (eval_reference.py, windows of 128); the compressed one
        // is that of stories260K quantized by bitsandbytes itself, run by transformers + bitsandbytes
        // (eval_model_reference.py). Our pass writes bitsandbytes' packed codes but flips 4 of 3,540
        // double-quant absmax codes by one step (QuantizationPassTests), hence 0.5 % rather than 1e-5.
        let fp32 = (try Fixtures.readJSON(Fixtures.path("eval/stories260k_perplexity.json")) as! [String: Any])["cases"] as! [[String: Any]]
        let nf4 = (try Fixtures.readJSON(try Fixtures.required("eval/stories260k_model_reference.json",
                                                               regenerate: "tools/reference/eval_model_reference.py")) as! [String: Any])["nf4"] as! [String: Any]
        let expectedOriginal = fp32.first { $0["seq_len"] as! Int == 128 && $0["max_tokens"] is NSNull }!["perplexity"] as! Double
        let row = try XCTUnwrap(result.report.comparisons.first)
        XCTAssertEqual(try XCTUnwrap(row.original), expectedOriginal, accuracy: 1e-5 * expectedOriginal)
        XCTAssertEqual(try XCTUnwrap(row.compressed), nf4["perplexity"] as! Double, accuracy: 0.005 * (nf4["perplexity"] as! Double))
        XCTAssertEqual(row.count, nf4["count"] as? Int)
        let written = try Checkpoint(path: output), bnb = try Checkpoint(path: Fixtures.path("quant/stories260K-bnb-nf4"))
        XCTAssertEqual(written.names.sorted(), bnb.names.sorted(), "the layout bitsandbytes saves")
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
