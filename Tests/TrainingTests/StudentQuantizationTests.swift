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
        _ = try Fixtures.required(String(folder.dropFirst(Fixtures.path("").count)) + "/config.json", regenerate: "/root/venv/bin/python tools/reference/training_reference.py")
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

/// The objective on a causal decoder (logit distillation over the vocabulary, pre-norm sites).
final class DecoderDistillationTests: XCTestCase {
    func testStudentEqualToTeacherHasZeroFeatureLossesAndTrainsUnderIntervention() throws {
        let folder = Fixtures.path("training/llama_gqa")
        _ = try Fixtures.required(String(folder.dropFirst(Fixtures.path("").count)) + "/config.json", regenerate: "/root/venv/bin/python tools/reference/training_reference.py")
        let teacher = try TransformerModel.load(path: folder)
        let student = try TrainableModel(try TransformerModel.load(path: folder))
        let batch = TrainingBatch.languageModel([[1, 5, 9, 3, 7, 2], [4, 8, 6, 1]])
        let plain = InterventionDistiller(teacher: teacher)
        _ = try plain.loss(student, batch, Tape())
        let t = plain.lastTerms
        XCTAssertEqual([t.hidden, t.scores, t.attentionOutput], [0, 0, 0], "identical student: feature terms vanish")
        XCTAssertGreaterThan(t.prediction, 0, "soft cross-entropy equals the teacher's entropy")
        XCTAssertEqual(plain.objective.outputPoint(teacher), .attentionOutput, "pre-norm: the output projection's result")

        let quantized = InterventionDistiller(teacher: teacher, quantization: .ti(weightBits: 2))
        let tape = Tape()
        let l = try quantized.loss(student, batch, tape, intervention: .map)
        XCTAssertGreaterThan(quantized.lastTerms.hidden, 0)
        tape.backward(from: l)
        let q = student.model.layers[0].q as! Linear
        XCTAssertTrue(q.weightParameter.grad.contains { $0 != 0 }, "W_q learns from the score loss under TI-M")
    }
}
