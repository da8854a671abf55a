import Checkpoints
import Kernels
import Models
import TestSupport
import Training
import XCTest

/// The TI distillation objective (ALGORITHMS.md §4.2) and the three interventions (§4.3) against
/// PyTorch autograd on the tiny BERT classifier: teacher fixtures/training/bert_classifier, a noisy
/// student (fixtures/training/distill/bert_classifier, tools/reference/distillation_reference.py).
/// Every term and every parameter's gradient, including exact zeros on the stopped paths.
final class DistillationParityTests: XCTestCase {
    struct Case {
        let teacher: TransformerModel
        let student: TransformerModel
        /// The quantized kinds' student (student + small noise, away from rounding ties).
        let quantizedStudent: TransformerModel
        let reference: SafetensorsFile
        let batch: TrainingBatch

        init() throws {
            let folder = Fixtures.path("training/distill/bert_classifier")
            _ = try Fixtures.required("training/distill/bert_classifier/reference.safetensors",
                                      regenerate: "/root/venv/bin/python tools/reference/distillation_reference.py")
            teacher = try TransformerModel.load(path: Fixtures.path("training/bert_classifier"))
            student = try TransformerModel.load(path: folder + "/student")
            quantizedStudent = try TransformerModel.load(path: folder + "/student_q")
            reference = try SafetensorsFile(path: folder + "/reference.safetensors")
            let batchFile = try SafetensorsFile(path: Fixtures.path("training/bert_classifier/reference.safetensors"))
            func rows(_ n: String) throws -> [[Int]] {
                let t = try batchFile.tensor(n), v = t.floats().map { Int($0) }
                return stride(from: 0, to: v.count, by: t.shape[1]).map { Array(v[$0..<($0 + t.shape[1])]) }
            }
            let input = ModelInput(tokens: try rows("input_ids"), tokenTypes: try rows("token_type_ids"), attentionMask: try rows("attention_mask"))
            batch = TrainingBatch(input: input, targets: try batchFile.tensor("labels").floats().map { Int32($0) })
        }
    }

    func check(_ kind: String, _ intervention: TeacherIntervention, quantization: StudentQuantization = StudentQuantization(weights: nil, activations: nil),
               file: StaticString = #filePath, line: UInt = #line) throws {
        let c = try Case()
        let distiller = InterventionDistiller(teacher: c.teacher, quantization: quantization)
        let trainable = try TrainableModel(quantization.weights == nil ? c.student : c.quantizedStudent)
        let tape = Tape()
        let loss = try distiller.loss(trainable, c.batch, tape, intervention: intervention)
        let ref = c.reference
        let t = distiller.lastTerms
        assertClose([t.prediction], try ref.tensor("\(kind).pred").floats(), atol: 1e-5, rtol: 1e-5, "\(kind) L_pred", file: file, line: line)
        assertClose([t.hidden], try ref.tensor("\(kind).rep").floats(), atol: 1e-5, rtol: 1e-5, "\(kind) L_rep", file: file, line: line)
        assertClose([t.scores], try ref.tensor("\(kind).attn").floats(), atol: 1e-5, rtol: 1e-5, "\(kind) L_attn", file: file, line: line)
        assertClose([t.attentionOutput], try ref.tensor("\(kind).out").floats(), atol: 1e-5, rtol: 1e-5, "\(kind) L_out", file: file, line: line)
        assertClose(loss.value, try ref.tensor("\(kind).loss").floats(), atol: 1e-5, rtol: 1e-5, "\(kind) loss", file: file, line: line)
        tape.backward(from: loss)
        let grads = trainable.model.namedTensors(gradients: true)
        let expected = Set(ref.names.filter { $0.hasPrefix("\(kind).grad.") }.map { String($0.dropFirst(kind.count + 6)) })
        XCTAssertEqual(Set(grads.map(\.name)), expected, "\(kind): parameter names", file: file, line: line)
        for g in grads where expected.contains(g.name) {
            let want = try ref.tensor("\(kind).grad.\(g.name)").floats()
            assertClose(g.values, want, atol: 1e-5, "\(kind) grad \(g.name)", file: file, line: line)
            if want.allSatisfy({ $0 == 0 }) {
                XCTAssertTrue(g.values.allSatisfy { $0 == 0 }, "\(kind): \(g.name) is on a stopped path: exactly zero", file: file, line: line)
            }
        }
    }

    func testKnowledgeDistillationLossesAndGradients() throws { try check("kd", .none) }
    func testMapInterventionDetachesQueryAndKey() throws { try check("ti_m", .map) }
    func testContextIntervention() throws { try check("ti_c", .context) }
    func testOutputIntervention() throws { try check("ti_o", .output) }

    /// TI's quantized student (ternary weights, word embedding per row, 8-bit activations at every
    /// linear input and on q, k, v and the probabilities, clipped straight-through gradients): the
    /// terms and every gradient against PyTorch autograd, with exact zeros on the stopped paths.
    func testQuantizedStudentWithEachInterventionMatchesAutograd() throws {
        let q = StudentQuantization.ti(weightBits: 2)
        try check("kd_q", .none, quantization: q)
        try check("ti_m_q", .map, quantization: q)
        try check("ti_c_q", .context, quantization: q)
        try check("ti_o_q", .output, quantization: q)
    }

    /// The intervened tensors equal the teacher's bit for bit, in every layer, while the student's
    /// own scores are what the loss sees.
    func testIntervenedValuesAreTheTeachersBitForBit() throws {
        let c = try Case()
        let distiller = InterventionDistiller(teacher: c.teacher)
        let trainable = try TrainableModel(c.student)
        for intervention in [TeacherIntervention.map, .context, .output] {
            let site = try XCTUnwrap(intervention.replacedSite)
            let t = try distiller.teacherForward(c.batch.input, intervention: intervention)
            var options = distiller.studentOptions(intervention: intervention, teacher: t, student: c.student)
            options.capture.formUnion([site, .scores])
            let s = try trainable.forward(c.batch.input, options: options, detachingInputsOf: intervention.detachedInputs, tape: Tape())
            for l in 0..<c.student.layers.count {
                let key = CaptureKey(layer: l, point: site)
                XCTAssertEqual(s.captures[key]?.value, t.captures[key]?.values, "\(intervention) layer \(l)")
                XCTAssertFalse(s.captures[key]!.requiresGrad, "\(intervention) layer \(l): replaced values are constants")
                XCTAssertNotEqual(s.captures[CaptureKey(layer: l, point: .scores)]?.value, t.captures[CaptureKey(layer: l, point: .scores)]?.values)
            }
        }
    }

    /// TI-G: O before s/6, C until s/3, M after; inverted at thirds.
    func testGradualScheduleSwitchesAtASixthAndAThird() {
        let s = 60
        let gradual = (0..<s).map { InterventionSchedule.gradual.intervention(step: $0, of: s) }
        XCTAssertEqual(gradual.firstIndex(of: .context), 10)
        XCTAssertEqual(gradual.firstIndex(of: .map), 20)
        XCTAssertTrue(gradual[..<10].allSatisfy { $0 == .output } && gradual[20...].allSatisfy { $0 == .map })
        let inverted = (0..<s).map { InterventionSchedule.inverted.intervention(step: $0, of: s) }
        XCTAssertEqual([inverted[0], inverted[19], inverted[20], inverted[39], inverted[40]], [.map, .map, .context, .context, .output])
    }

    /// Masked scores (−∞ here, ≤ −100 in PyTorch) count as 0 on both sides and take no gradient.
    func testMaskedScoresLoss() {
        let tape = Tape()
        let x = Variable([1, -.infinity, 3, -200], shape: [4], requiresGrad: true)
        let l = tape.maskedMeanSquaredError(x, target: [0, 2, -1e9, -3])
        XCTAssertEqual(l.value[0], (1 + 4 + 9 + 9) / 4, accuracy: 1e-6)
        tape.backward(from: l)
        XCTAssertEqual(x.grad, [0.5, 0, 1.5, 0])
    }
}
