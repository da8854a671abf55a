import XCTest
import Checkpoints
import TestSupport

/// The real checkpoints in ../shared/models summarise exactly as Python's `safetensors` sees them
/// (fixtures/safetensors/shared_models_reference.json from tools/reference/safetensors_shared_models.py).
final class RealCheckpointTests: XCTestCase {
    struct Reference: Decodable {
        struct Model: Decodable {
            struct Entry: Decodable { let dtype: String; let shape: [Int] }
            struct Total: Decodable { let tensors: Int; let parameters: Int; let bytes: Int }
            let tensors: [String: Entry]
            let totals: [String: Total]
            let parameters: Int
            let metadata: [String: String]
            let sums: [String: Double]
        }
        let models: [String: Model]
    }

    func check(_ model: String, file: StaticString = #filePath, line: UInt = #line) throws {
        // stories260K is also committed (fixtures/models/stories260K, the same file): it never skips.
        let path: String
        if model == "stories260K" {
            path = try Fixtures.required("models/stories260K", regenerate: "copy ../shared/models/stories260K (see fixtures/README.md)")
        } else {
            guard let shared = Fixtures.shared("models/" + model) else { throw XCTSkip("../shared/models/\(model) absent") }
            path = shared
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("safetensors/shared_models_reference.json")))
        let reference = try XCTUnwrap(try JSONDecoder().decode(Reference.self, from: data).models[model])
        let checkpoint = try Checkpoint(path: path)
        let summary = CheckpointSummary(checkpoint)
        XCTAssertEqual(summary.tensors.count, reference.tensors.count, file: file, line: line)
        for entry in summary.tensors {
            XCTAssertEqual(entry.dtype, reference.tensors[entry.name]?.dtype, entry.name, file: file, line: line)
            XCTAssertEqual(entry.shape, reference.tensors[entry.name]?.shape, entry.name, file: file, line: line)
        }
        XCTAssertEqual(summary.parameters, reference.parameters, file: file, line: line)
        XCTAssertEqual(summary.totals.map(\.dtype), Array(reference.totals.keys), file: file, line: line)
        for total in summary.totals {
            XCTAssertEqual(total.bytes, reference.totals[total.dtype]?.bytes, file: file, line: line)
            XCTAssertEqual(total.parameters, reference.totals[total.dtype]?.parameters, file: file, line: line)
        }
        XCTAssertEqual(summary.metadata, reference.metadata, file: file, line: line)
        for (name, expected) in reference.sums {
            let sum = try checkpoint.floats(name).reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, expected, accuracy: 1e-9 * max(1, abs(expected)), name, file: file, line: line)
        }
    }

    func testStories260KInspectsLikePython() throws { try check("stories260K") }

    func testMiniLMF16InspectsLikePython() throws { try check("minilm-l6-sst2") }

    func testConfigSummaryPrintsBoolsAsBoolsAndListsPlainly() throws {
        let summary = CheckpointSummary(try Checkpoint(path: Fixtures.path("models/stories260K")))
        XCTAssertEqual(summary.config["tie_word_embeddings"], "true")
        XCTAssertEqual(summary.config["architectures"], "LlamaForCausalLM")
        XCTAssertEqual(summary.config["num_key_value_heads"], "4")
        XCTAssertEqual(summary.config["model_type"], "llama")
        XCTAssertTrue(summary.text().contains("  tie_word_embeddings: true\n"))
        XCTAssertTrue(summary.text().hasSuffix("total    47 tensors, 260032 parameters, 1.04 MB"), summary.text())
    }
}
