import Kernels
import Models
import TestSupport
import Training
import XCTest

/// The student's fake quantization in training (block weights by `weightTransform`, the token table
/// and the pooler by parameter transforms) computes what a model with those weights quantized in
/// place computes: what is trained is what the `qat` pass writes.
final class StudentQuantizationTests: XCTestCase {
    func testTrainingForwardEqualsModelWithQuantizedWeights() throws {
        let folder = Fixtures.path("training/bert_classifier")
        guard FileManager.default.fileExists(atPath: folder + "/config.json") else { throw XCTSkip("\(folder) absent") }
        let input = ModelInput(tokens: [[1, 5, 9, 3, 7], [2, 8, 4, 0, 0]], attentionMask: [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
        for bits in [2, 4] {
            let q = StudentQuantization.ti(weightBits: bits, activationBits: nil)
            let student = try TrainableModel(try TransformerModel.load(path: folder))
            let out = try student.forward(input, options: q.options, detachingInputsOf: [],
                                          transforming: q.parameterTransforms(student.model), tape: Tape())

            let written = try TransformerModel.load(path: folder)
            func quantize(_ v: Variable, _ quantizer: Quantizer) {
                v.value.withUnsafeMutableBufferPointer { quantizer.fakeQuantizeForward($0.baseAddress!, $0.baseAddress!, rows: v.shape[0], cols: v.shape[1]) }
            }
            for layer in written.layers { for (_, l) in layer.linears { quantize((l as! Linear).weightParameter, q.weights!) } }
            quantize(written.embeddings.tokenParameter, q.tokenEmbedding!)
            quantize((written.head.pooler as! Linear).weightParameter, q.pooler!)
            let direct = try written.forward(input)
            assertClose(out.logits.value, direct.logits, atol: 1e-5, "bits \(bits): training forward vs quantized model")

            let plain = try TransformerModel.load(path: folder).forward(input, options: q.options)
            XCTAssertGreaterThan(zip(plain.logits, direct.logits).map { abs($0 - $1) }.max()!, 1e-4,
                                 "bits \(bits): the embedding and pooler quantization changes the output")
        }
    }
}
