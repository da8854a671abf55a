import Foundation
import XCTest
import Checkpoints
import TestSupport

/// Inputs the GGUF fuzzer (Fuzz/GGUFFuzzer.swift, `make fuzz`) stopped on, replayed through everything
/// the fuzz target drives: the file opens or throws its specific CheckpointError, and so do the model
/// view (`GGUFTensorStore`) and the tokenizer rebuild. A new finding is added here with its outcome.
final class GGUFFuzzCrasherTests: XCTestCase {
    struct Outcome { let file: CheckpointError?; let store: CheckpointError?; let tokenizer: CheckpointError? }

    static let expected: [String: (String) -> Outcome] = [
        // No tensors and no padding after the metadata: a valid (empty) file; the fuzzer's own oracle
        // wrongly required the data section to start inside the file.
        "tensorless_no_padding.gguf": {
            Outcome(file: nil, store: .ggufMissingKey(path: $0, key: "general.architecture"),
                    tokenizer: .ggufInvalidTokenizer(path: $0, key: "tokenizer.ggml.model", reason: "missing: the file has no tokenizer"))
        },
    ]

    func testEveryFuzzFindingEndsInItsOwnError() throws {
        let folder = Fixtures.path("gguf/fuzz-crashers")
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".gguf") }
        XCTAssertEqual(Set(onDisk), Set(Self.expected.keys), "findings and expectations differ")
        for (name, outcome) in Self.expected.sorted(by: { $0.key < $1.key }) {
            let path = folder + "/" + name, want = outcome(path)
            do {
                let file = try GGUFFile(path: path)
                XCTAssertNil(want.file, "\(name): opened")
                XCTAssertThrowsError(try GGUFTensorStore(file), name) { XCTAssertEqual($0 as? CheckpointError, want.store, name) }
                XCTAssertThrowsError(try GGUFTokenizerJSON.document(file), name) { XCTAssertEqual($0 as? CheckpointError, want.tokenizer, name) }
            } catch {
                XCTAssertEqual(error as? CheckpointError, want.file, name)
            }
        }
    }
}
