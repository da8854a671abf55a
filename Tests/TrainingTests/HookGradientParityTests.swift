import Checkpoints
import Models
import TestSupport
import Training
import XCTest

/// Gradients under hooks that state their gradient, against PyTorch autograd doing the same on the
/// tiny training models (fixtures/training/hooks/<case>, tools/reference/hooks_reference.py):
/// probabilities replaced in layer 0 and the output projection's input replaced in the last layer
/// (gradient stopped), and 8-bit straight-through fake quantization (clip 2.5) at every block linear's input.
final class HookGradientParityTests: XCTestCase {
    func reference(_ name: String) throws -> SafetensorsFile {
        try SafetensorsFile(path: try Fixtures.required("training/hooks/\(name)/reference.safetensors",
                                                        regenerate: "/root/venv/bin/python tools/reference/hooks_reference.py"))
    }

    /// The reference's fake quantization: symmetric per tensor, scale max|clamp(x)|/127 (0 → 1), round half to even.
    static func fakeQuant8(clip: Float) -> SiteTransform {
        .straightThrough(clip: clip) { x, _ in
            var m: Float = 0
            for i in x.indices { x[i] = min(max(x[i], -clip), clip); m = max(m, abs(x[i])) }
            let s = m == 0 ? 1 : m / 127
            for i in x.indices { x[i] = (x[i] / s).rounded(.toNearestOrEven) * s }
        }
    }

    func check(_ name: String, kind: String, options: (SafetensorsFile, Int) throws -> ForwardOptions,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let c = try GradientParityTests.Case(name)
        let ref = try reference(name)
        let trainable = try TrainableModel(c.model)
        let tape = Tape()
        let loss = try c.loss(trainable, tape: tape, options: try options(ref, c.model.layers.count))
        assertClose(loss.value, try ref.tensor("\(kind).loss").floats(), atol: 1e-5, rtol: 1e-5, "\(name) \(kind) loss", file: file, line: line)
        tape.backward(from: loss)
        let grads = trainable.model.namedTensors(gradients: true)
        let expected = Set(ref.names.filter { $0.hasPrefix("\(kind).grad.") }.map { String($0.dropFirst(kind.count + 6)) })
        XCTAssertEqual(Set(grads.map(\.name)), expected, "\(name) \(kind): parameter names", file: file, line: line)
        for g in grads where expected.contains(g.name) {
            assertClose(g.values, try ref.tensor("\(kind).grad.\(g.name)").floats(), atol: 1e-4, "\(name) \(kind) grad \(g.name)", file: file, line: line)
        }
    }

    func checkAll(_ name: String) throws {
        try check(name, kind: "replace_probabilities") { ref, _ in
            let values = try ref.tensor("replace_probabilities.values").floats()
            return ForwardOptions(hooks: [SiteHook([.probabilities], layers: [0], .replace { _ in values })])
        }
        try check(name, kind: "replace_context") { ref, layers in
            let values = try ref.tensor("replace_context.values").floats()
            return ForwardOptions(hooks: [SiteHook([.attentionContext], layers: [layers - 1], .replace { _ in values })])
        }
        try check(name, kind: "fake_quant_inputs") { ref, _ in
            let clip = Float(ref.metadata["clip"] ?? "") ?? 2.5
            let linearInputs: Set<CapturePoint> = [.attentionInput, .attentionContext, .ffnInput, .ffnActivation]
            return ForwardOptions(hooks: [SiteHook(linearInputs, .transform { _ in Self.fakeQuant8(clip: clip) })])
        }
    }

    func testLlamaGQA() throws { try checkAll("llama_gqa") }
    func testQwen2Tied() throws { try checkAll("qwen2_tied") }
    func testMistral() throws { try checkAll("mistral") }
    func testGPT2() throws { try checkAll("gpt2") }
    func testBertClassifier() throws { try checkAll("bert_classifier") }

    /// The probabilities site equals PyTorch's softmax output with no hook.
    func testProbabilitiesSiteMatchesPyTorch() throws {
        for name in ["llama_gqa", "gpt2", "bert_classifier"] {
            let c = try GradientParityTests.Case(name)
            let ref = try reference(name)
            let out = try c.model.forward(c.input, options: ForwardOptions(capture: [.probabilities]))
            for l in 0..<c.model.layers.count {
                let got = try XCTUnwrap(out.captures[CaptureKey(layer: l, point: .probabilities)])
                let want = try ref.tensor("probabilities.\(l)")
                XCTAssertEqual(got.shape, want.shape, "\(name) layer \(l)")
                assertClose(got.values, want.floats(), atol: 1e-6, "\(name) probabilities \(l)")
            }
        }
    }
}
