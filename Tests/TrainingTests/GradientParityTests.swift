import Checkpoints
import Models
import TestSupport
import Training
import XCTest

/// Gradients of every parameter and a 10-step AdamW loss trajectory against PyTorch
/// (fixtures/training/<case>, tools/reference/training_reference.py).
final class GradientParityTests: XCTestCase {
    struct Case {
        let model: TransformerModel
        let reference: SafetensorsFile
        let input: ModelInput
        let labels: [Int]

        /// `fixtures/<root>/<name>`: a model folder with the PyTorch batch, loss and gradients.
        init(_ name: String, in root: String = "training", generator: String = "training_reference.py") throws {
            let folder = Fixtures.path("\(root)/\(name)")
            _ = try Fixtures.required("\(root)/\(name)/reference.safetensors", regenerate: "/root/venv/bin/python tools/reference/\(generator) \(name)")
            model = try TransformerModel.load(path: folder)
            let ref = try SafetensorsFile(path: folder + "/reference.safetensors")
            reference = ref
            func rows(_ n: String) throws -> [[Int]]? {
                guard ref.contains(n) else { return nil }
                let t = try ref.tensor(n), v = t.floats().map { Int($0) }
                if t.shape.count == 1 { return [v] }
                return stride(from: 0, to: v.count, by: t.shape[1]).map { Array(v[$0..<($0 + t.shape[1])]) }
            }
            input = ModelInput(tokens: try rows("input_ids")!, tokenTypes: try rows("token_type_ids"), attentionMask: try rows("attention_mask"))
            labels = try rows("labels")!.flatMap { $0 }
        }

        /// The reference trajectory's run: 10 AdamW steps (warm-up 2, linear decay, clip 1.0, wd 0.1 on matrices).
        func adamWLosses() throws -> [Float] {
            let trainable = try TrainableModel(model)
            let optimizer = AdamW(parameters: trainable.parameters, weightDecay: 0.1)
            let schedule = LearningRateSchedule(peak: 1e-3, warmupSteps: 2, totalSteps: 10, decay: .linear)
            var losses: [Float] = []
            for step in 0..<10 {
                optimizer.zeroGrad()
                let tape = Tape()
                let loss = try self.loss(trainable, tape: tape)
                losses.append(loss.value[0])
                tape.backward(from: loss)
                clipGradientNorm(trainable.parameters, maxNorm: 1)
                optimizer.step(lr: schedule.rate(step: step))
            }
            return losses
        }

        func loss(_ trainable: TrainableModel, tape: Tape, options: ForwardOptions = ForwardOptions()) throws -> Variable {
            let out = try trainable.forward(input, options: options, tape: tape)
            if trainable.config.isClassifier {
                return tape.crossEntropy(out.logits, targets: labels.map { Int32($0) }, classes: out.shape[1])
            }
            let t = input.seqLen
            let labelRows = stride(from: 0, to: labels.count, by: t).map { Array(labels[$0..<($0 + t)]) }
            return tape.crossEntropy(out.logits, targets: languageModelTargets(input, labels: labelRows), classes: out.shape[2])
        }
    }

    func checkGradients(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let c = try Case(name)
        let trainable = try TrainableModel(c.model)
        let tape = Tape()
        let loss = try c.loss(trainable, tape: tape)
        assertClose(loss.value, try c.reference.tensor("loss").floats(), atol: 1e-5, rtol: 1e-5, "\(name) loss", file: file, line: line)
        tape.backward(from: loss)
        let grads = trainable.model.namedTensors(gradients: true)
        let expectedNames = Set(c.reference.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) })
        XCTAssertEqual(Set(grads.map(\.name)), expectedNames, "\(name): parameter names", file: file, line: line)
        for g in grads where expectedNames.contains(g.name) {
            let e = try c.reference.tensor("grad." + g.name)
            XCTAssertEqual(g.shape, e.shape, "\(name) \(g.name) shape", file: file, line: line)
            assertClose(g.values, e.floats(), atol: 1e-4, "\(name) grad \(g.name)", file: file, line: line)
        }
    }

    func testLlamaGQAGradients() throws { try checkGradients("llama_gqa") }
    func testQwen2TiedGradients() throws { try checkGradients("qwen2_tied") }
    func testMistralGradients() throws { try checkGradients("mistral") }
    func testGPT2Gradients() throws { try checkGradients("gpt2") }
    func testBertClassifierGradients() throws { try checkGradients("bert_classifier") }

    /// llm.c-style: 10 AdamW steps (warm-up 2, linear decay, clip 1.0, wd 0.1 on matrices) follow
    /// PyTorch's loss step by step.
    func checkTrajectory(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let c = try Case(name)
        let losses = try c.adamWLosses()
        let expected = try c.reference.tensor("adamw_losses").floats()
        assertClose(losses, expected, atol: 2e-4, rtol: 1e-5, "\(name) AdamW trajectory", file: file, line: line)
        XCTAssertLessThan(losses[9], losses[0] - 0.3, "\(name): training must reduce the loss", file: file, line: line)
    }

    func testLlamaTrajectory() throws { try checkTrajectory("llama_gqa") }
    func testQwen2Trajectory() throws { try checkTrajectory("qwen2_tied") }
    func testMistralTrajectory() throws { try checkTrajectory("mistral") }
    func testGPT2Trajectory() throws { try checkTrajectory("gpt2") }
    func testBertTrajectory() throws { try checkTrajectory("bert_classifier") }
}
