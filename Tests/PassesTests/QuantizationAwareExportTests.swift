import Checkpoints
import Kernels
import Models
import Passes
import Tensors
import TestSupport
import Training
import XCTest

/// What is trained is what is written: a model trained with int8 fake quantization (weights per
/// row, activations per token at every block linear's input — the shared `Kernels` quantizers),
/// exported by the `int8` pass, reproduces the fake-quant model's logits.
final class QuantizationAwareExportTests: XCTestCase {
    let linearInputs: Set<CapturePoint> = [.attentionInput, .attentionContext, .ffnInput, .ffnActivation]

    func testInt8ExportOfAFakeQuantTrainedModelReproducesItsLogits() throws {
        let store = EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("training/llama_gqa")))
        let model = try TransformerModel.load(from: store)
        let activations = SiteHook(linearInputs, .transform { _ in .fakeQuantize(.int8(.token)) })
        let fakeQuant = ForwardOptions(hooks: [activations], weightTransform: { _ in .fakeQuantize(.int8(.row)) })
        var settings = TrainerSettings()
        settings.lr = 1e-2; settings.steps = 3
        let trainer = try Trainer(model: try TrainableModel(model), settings: settings)
        trainer.options = fakeQuant
        let batch = TrainingBatch.languageModel([[3, 7, 1, 9, 4, 2, 11], [5, 5, 8, 30, 12, 6, 1]])
        try trainer.run(batch: { _ in batch })
        XCTAssertLessThan(trainer.lossCurve[2], trainer.lossCurve[0], "QAT trains")

        for t in model.namedTensors() { store.set(t.name, Tensor(floats: t.values, shape: t.shape, dtype: .F32)) }
        _ = try Int8Quantization().apply(to: store, context: PassContext())
        let folder = NSTemporaryDirectory() + "whittle-qat-int8-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try CheckpointFolderWriter.write(store, to: folder)

        let input = ModelInput(tokens: [[2, 9, 14, 3, 27, 8, 1, 33]])
        let trained = try model.forward(input, options: fakeQuant).logits
        // The written int8 weights, dequantized, with the same activation fake quantization.
        let written = try TransformerModel.load(from: try QuantizedTensorStore(try Checkpoint(path: folder)))
        assertClose(try written.forward(input, options: ForwardOptions(hooks: [activations])).logits, trained, atol: 1e-6, "int8 weights as written")
        // The W8A8 runtime (int8 × int8 matmuls, per-token activation scales) computes the same function.
        let store8 = try QuantizedTensorStore(try Checkpoint(path: folder))
        let w8a8 = try TransformerModel.load(from: store8)
        XCTAssertEqual(try store8.installQuantizedLinears(in: w8a8), 14)
        assertClose(try w8a8.forward(input).logits, trained, atol: 1e-4, "W8A8 runtime")
    }
}
