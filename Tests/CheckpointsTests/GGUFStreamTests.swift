import Foundation
import XCTest
@testable import Checkpoints
import Tensors
import TestSupport

/// `GGUFTensorStore.stream` (what `compress convert x.gguf --output DIR` writes through): each tensor
/// dequantized straight into the safetensors writer's buffers must be the tensor `tensor(name)` returns
/// — itself checked against transformers' GGUF loader (ModelsTests.SmolLM2GGUFTests, which also checks
/// a whole streamed SmolLM2 folder against it, and ConvertCommandTests through logits).
final class GGUFStreamTests: XCTestCase {
    static let regenerate = "/root/venv/bin/python tools/reference/gguf_llama_reference.py"

    /// Q8_0 with permuted q/k rows (llama), a Qwen2 file with 1-D biases, a tied F32 file.
    func testStreamedFolderHoldsWhatTensorReturns() throws {
        for name in ["q8_0.gguf", "qwen2-q8_0.gguf", "tied-f32.gguf"] {
            let store = try GGUFTensorStore(path: try Fixtures.required("gguf/llama-tiny/\(name)", regenerate: Self.regenerate))
            let folder = TemporaryFolder()
            try CheckpointFolderWriter.write(store, to: folder.path)
            let written = try Checkpoint(path: folder.path)
            XCTAssertEqual(written.names.sorted(), store.names.sorted(), name)
            for tensor in store.names {
                let expected = try store.tensor(tensor), got = try written.tensor(tensor)
                XCTAssertEqual(got.shape, expected.shape, "\(name) \(tensor)")
                XCTAssertEqual(try got.floats().map(\.bitPattern), try expected.floats().map(\.bitPattern), "\(name) \(tensor)")
            }
        }
    }

    /// A streaming store that hands the sink more than the header's bytes is refused by name, and no
    /// file is left behind.
    func testOverfilledSinkIsRefused() throws {
        let folder = TemporaryFolder()
        let out = folder.file("model.safetensors")
        XCTAssertThrowsError(try SafetensorsWriter.write(to: out, specs: [TensorSpec(name: "w", dtype: .F32, shape: [2])]) { spec, sink in
            try sink.fill(minimum: 8) { space in
                space.initializeMemory(as: UInt8.self, repeating: 1)
                return 12
            }
        }) { error in
            XCTAssertEqual((error as? CheckpointError).map { "\($0)" }, "\(CheckpointError.writeFailed(path: out, reason: "tensor 'w' got more than its 8 bytes"))")
        }
        XCTAssertEqual(folder.contents, [], "no temporary file left behind")
    }
}
