import Checkpoints
import Foundation
import Models
import TestSupport
import XCTest

/// SmolLM2-135M as shipped (a Q4_1 GGUF) read natively against the Hugging Face folder that
/// transformers' own GGUF loader made from the same file (../shared/tools/get-smollm2.sh writes both).
/// Skips when that cache is absent: the script downloads the model.
final class SmolLM2GGUFTests: XCTestCase {
    func cache() throws -> (gguf: String, folder: String) {
        let env = ProcessInfo.processInfo.environment
        let root = env["WHITTLE_MODELS"] ?? (NSHomeDirectory() + "/.cache/whittle/models")
        let gguf = root + "/smollm2-135m-instruct.Q4_1.gguf", folder = root + "/smollm2-135m-instruct"
        guard FileManager.default.fileExists(atPath: gguf), FileManager.default.fileExists(atPath: folder + "/model.safetensors") else {
            throw XCTSkip("SmolLM2 cache absent at \(root): run ../shared/tools/get-smollm2.sh to enable (it downloads the model)")
        }
        return (gguf, folder)
    }

    /// The q/k rows we unpermute are transformers' bit for bit (both dequantize Q4_1 exactly).
    func testSmolLM2GGUFWeightsEqualTransformersGGUFLoading() throws {
        let (gguf, folder) = try cache()
        let ours = try GGUFTensorStore(path: gguf), theirs = try Checkpoint(path: folder)
        for name in ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
                     "model.layers.29.self_attn.k_proj.weight", "model.embed_tokens.weight", "model.norm.weight"] {
            XCTAssertEqual(try ours.floats(name), try theirs.floats(name), name)
        }
    }

    /// The folder `compress convert x.gguf --output DIR` writes (`CheckpointFolderWriter` streaming the
    /// store: rows dequantized into the writer's 8 MB buffers — the 113 MB embedding across many of
    /// them — q/k rows gathered in Hugging Face order) holds every tensor bit for bit as transformers
    /// loaded it.
    func testSmolLM2GGUFStreamedToAFolderEqualsTransformersGGUFLoading() throws {
        let (gguf, folder) = try cache()
        let out = NSTemporaryDirectory() + "whittle-smollm2-stream-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: out) }
        try CheckpointFolderWriter.write(try GGUFTensorStore(path: gguf), to: out)
        let ours = try Checkpoint(path: out), theirs = try Checkpoint(path: folder)
        XCTAssertEqual(ours.names.sorted(), theirs.names.sorted())
        for name in theirs.names {
            let a = try ours.tensor(name), b = try theirs.tensor(name)
            XCTAssertEqual(a.shape, b.shape, name)
            XCTAssertEqual(a.dtype, b.dtype, name)
            let same = a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.count == y.count && memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
            XCTAssertTrue(same, "\(name) differs from transformers' GGUF loading")
        }
    }

    func testSmolLM2GGUFLogitsMatchTransformersGGUFLoading() throws {
        let (gguf, folder) = try cache()
        let ids = [1, 504, 2365, 6354, 16438, 27003, 690, 260, 23790, 2767, 30]
        let ours = try TransformerModel.load(path: gguf).forward(ModelInput(tokens: [ids]))
        let theirs = try TransformerModel.load(path: folder).forward(ModelInput(tokens: [ids]))
        assertClose(ours.logits, theirs.logits, atol: 1e-4, "SmolLM2 .gguf vs the folder transformers wrote from it")
    }
}
