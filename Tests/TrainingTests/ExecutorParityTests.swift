import Checkpoints
import Kernels
import Models
import Tensors
import TestSupport
import Training
import XCTest

/// The one block run by both executors — inference (`EagerExecutor`) and the training tape
/// (`TapeExecutor`) — gives the same logits and the same value at every site, on every family, with
/// no hook and with each hook kind.
final class ExecutorParityTests: XCTestCase {
    static let families = ["llama_gqa", "qwen2_bias_tied", "mistral_window", "gpt2", "bert_classifier"]

    func model(_ name: String) throws -> TransformerModel {
        try TransformerModel.load(path: Fixtures.path("models-reference/\(name)"))
    }

    func input(_ m: TransformerModel) -> ModelInput {
        m.config.isCausalLM ? ModelInput(padding: [[1, 5, 9, 3, 7, 2], [4, 8, 6, 2]]) : ModelInput(padding: [[2, 10, 11, 12, 3], [2, 20, 21, 3]])
    }

    /// Each hook kind, built for a model (shapes from its first layer).
    func hookKinds(_ m: TransformerModel) -> [(String, ForwardOptions)] {
        let heads = m.layers.map(\.heads), widths = m.layers.map(\.ffnWidth)
        var rng = SeededGenerator(seed: 7)
        func randoms(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: 0.2...1.2, using: &rng) } }
        let t = input(m).seqLen
        let context = randoms(2 * t * heads[1] * m.config.headDim)
        return [
            ("none", ForwardOptions()),
            ("masks", ForwardOptions(headMask: heads.map { randoms($0) }, neuronMask: widths.map { randoms($0) })),
            ("gates", ForwardOptions(headGates: heads.map { .parameter(randoms($0), shape: [$0], name: "g") },
                                     neuronGates: widths.map { .parameter(randoms($0), shape: [$0], name: "n") })),
            ("skip", ForwardOptions(skip: [SublayerID(layer: 0, kind: .mlp), SublayerID(layer: 1, kind: .attention)])),
            ("clipped softmax", ForwardOptions(attention: .clippedSoftmax(gamma: -0.03, zeta: 1))),
            ("replace", ForwardOptions(hooks: [
                SiteHook([.probabilities], layers: [0], .replace { _ in [Float](repeating: 1 / Float(t), count: 2 * heads[0] * t * t) }),
                SiteHook([.attentionContext], layers: [1], .replace { _ in context })])),
            ("transform STE", ForwardOptions(hooks: [SiteHook([.attentionInput, .attentionContext, .ffnInput, .ffnActivation],
                                                              .transform { _ in .fakeQuantize(.int8(.token, clip: 2.5)) })])),
            ("weight fake quant", ForwardOptions(weightTransform: { _ in .fakeQuantize(.symmetric(bits: 4, .row)) })),
        ]
    }

    func testEveryFamilyEveryHookKind() throws {
        for name in Self.families {
            let m = try model(name)
            let x = input(m)
            for (kind, base) in hookKinds(m) {
                var options = base
                options.capture = Set(CapturePoint.allCases)
                let eager = try m.forward(x, options: options)
                let taped = try TrainableModel(m).forward(x, options: options, tape: Tape())
                let label = "\(name) / \(kind)"
                XCTAssertEqual(taped.shape, eager.shape, label)
                assertClose(taped.logits.value, eager.logits, atol: 1e-5, "\(label) logits")
                XCTAssertEqual(Set(taped.captures.keys), Set(eager.captures.keys), "\(label) sites")
                if kind != "skip" {
                    XCTAssertEqual(eager.captures.count, 1 + (CapturePoint.allCases.count - 1) * m.layers.count, "\(label): every site of every layer")
                }
                for (key, value) in eager.captures {
                    assertClose(taped.captures[key]!.value, value.values, atol: 1e-5, "\(label) \(key.point) layer \(key.layer)")
                }
            }
        }
    }
}
