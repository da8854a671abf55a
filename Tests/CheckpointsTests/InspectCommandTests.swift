import XCTest
import Checkpoints
import TestSupport

/// Runs the built `compress` binary (next to this test bundle; `swift test` builds it) on bad
/// input: exit status 1, nothing on stdout, one stderr line naming the file and the problem.
final class InspectCommandTests: XCTestCase {
    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try BuiltBinary.run(arguments)
        return (r.status, r.stdout, r.stderr)
    }

    func testInspectRejectsMalformedFilesWithOneLine() throws {
        for name in ["truncated_data.safetensors", "duplicate_names.safetensors", "absurd_header_length.safetensors",
                     "non_utf8_header.safetensors", "shard_missing_tensor"] {
            let path = Fixtures.path("safetensors/malformed/" + name)
            let expected: CheckpointError
            do { _ = try Checkpoint(path: path); XCTFail("\(name) was accepted"); continue } catch let e as CheckpointError { expected = e }
            let result = try run(["inspect", path])
            XCTAssertEqual(result.status, 1, name)
            XCTAssertEqual(result.stdout, "", name)
            XCTAssertEqual(result.stderr, "error: \(expected)\n", name)
            XCTAssertTrue(result.stderr.contains(name), name)
        }
    }

    func testInspectJSONOfTheShippedModel() throws {
        let result = try run(["inspect", Fixtures.path("models/stories260K"), "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["parameters"] as? Int, 260032)
        XCTAssertEqual((json["config"] as? [String: String])?["tie_word_embeddings"], "true")
        XCTAssertEqual((json["tensors"] as? [Any])?.count, 47)
    }

    func testInspectSummarizesAGGUFFile() throws {
        let path = Fixtures.path("gguf/metadata.gguf")
        let result = try run(["inspect", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.first, "\(path)  (metadata.gguf)")
        for line in ["  gguf_alignment: 64", "  gguf_version: 3", "  model_type: whittle-test",
                     "  metadata test.array_string: [string; 3]", "  metadata test.uint64: 9223372036854775813",
                     "  metadata test.string: \"héllo, wörld ✓ 🦙\"",
                     "weight  F32       [3, 5]              60", "bias    F16       [3]                 6",
                     "F32      1 tensors, 15 parameters, 60 B", "total    2 tensors, 18 parameters, 66 B"] {
            XCTAssertTrue(lines.contains(line), "missing line '\(line)' in:\n\(result.stdout)")
        }
        let types = try run(["inspect", "--json", Fixtures.path("gguf/types.gguf")])
        XCTAssertEqual(types.status, 0, types.stderr)
        XCTAssertTrue(types.stdout.contains(#"{"bytes":288,"dtype":"Q4_K","name":"q4_k.2d","shape":[2,256]}"#), types.stdout)
    }

    func testInspectRejectsMalformedGGUFWithOneLine() throws {
        let path = Fixtures.path("gguf/malformed/overlapping_tensors.gguf")
        let result = try run(["inspect", path])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stdout, "")
        XCTAssertEqual(result.stderr, "error: \(CheckpointError.overlappingTensors(path: path, first: "a", second: "b"))\n")
    }
}
