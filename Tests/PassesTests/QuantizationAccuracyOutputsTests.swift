import XCTest
import Checkpoints
import Passes
import TestSupport

/// Writes nf4 / int8 outputs of minilm-l6-sst2 for tools/reference/quant_accuracy.py (opt-in: the
/// accuracy itself is measured by stock transformers until `compress eval` reads quantized models).
final class QuantizationAccuracyOutputsTests: XCTestCase {
    func testWriteMiniLMOutputs() throws {
        guard ProcessInfo.processInfo.environment["WHITTLE_QUANT_ACCURACY"] != nil else {
            throw XCTSkip("set WHITTLE_QUANT_ACCURACY=1 to write the accuracy-check outputs")
        }
        guard let path = Fixtures.shared("models/minilm-l6-sst2") else { throw XCTSkip("../shared/models/minilm-l6-sst2 absent") }
        for (kind, pass) in [("nf4", NF4Quantization() as any Pass), ("int8", Int8Quantization())] {
            let model = EditableCheckpoint(source: try Checkpoint(path: path))
            _ = try pass.apply(to: model, context: PassContext())
            let folder = NSTemporaryDirectory() + "whittle-quant-minilm-\(kind)"
            try? FileManager.default.removeItem(atPath: folder)
            try CheckpointFolderWriter.write(model, to: folder)
            for file in ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"] {
                try? FileManager.default.copyItem(atPath: path + "/" + file, toPath: folder + "/" + file)
            }
        }
    }
}
