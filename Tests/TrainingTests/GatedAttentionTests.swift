import Checkpoints
import Kernels
import Models
import Tensors
import TestSupport
import Training
import XCTest

/// Gated attention (ALGORITHMS.md §3.2) against a PyTorch port of the reference gate
/// (fixtures/gated/<case>, tools/reference/gated_attention_reference.py): loss, every gradient
/// (gates included), a 10-step AdamW trajectory, and eager == tape at every site.
final class GatedAttentionTests: XCTestCase {
    static let cases = ["llama_linear", "llama_mlp", "gpt2_per_head_finetune", "bert_all_features", "llama_unconditional", "llama_elementwise"]

    /// The fixtures of tools/reference/gated_attention_reference.py, read like the training ones.
    func gated(_ name: String) throws -> GradientParityTests.Case {
        try GradientParityTests.Case(name, in: "gated", generator: "gated_attention_reference.py")
    }

    func testGatesLoadFromTheWhittleSection() throws {
        let c = try gated("llama_mlp")
        let gate = try XCTUnwrap(c.model.layers[1].attentionGate)
        XCTAssertEqual(gate.settings, AttentionGateSettings(type: .conditionalPerToken, network: .mlp))
        XCTAssertEqual(gate.parameters.map(\.name), ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"].map { "model.layers.1.self_attn.gate." + $0 })
        XCTAssertEqual(gate.parameters.map(\.shape), [[4, 2, 8], [4, 2], [4, 1, 2], [4, 1]])
        XCTAssertEqual(gate.parameters.map(\.decay), [true, false, true, false])
    }

    func testGradientsMatchPyTorchReferenceGate() throws {
        for name in Self.cases {
            let c = try gated(name)
            let trainable = try TrainableModel(c.model)
            let tape = Tape()
            let loss = try c.loss(trainable, tape: tape)
            assertClose(loss.value, try c.reference.tensor("loss").floats(), atol: 1e-5, rtol: 1e-5, "\(name) loss")
            tape.backward(from: loss)
            let grads = trainable.model.namedTensors(gradients: true)
            let expected = Set(c.reference.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) })
            XCTAssertEqual(Set(grads.map(\.name)), expected, "\(name): parameter names")
            XCTAssertTrue(grads.contains { $0.name.contains(".gate.") && $0.values.contains { $0 != 0 } }, "\(name): gate gradients flow")
            for g in grads where expected.contains(g.name) {
                let e = try c.reference.tensor("grad." + g.name)
                XCTAssertEqual(g.shape, e.shape, "\(name) \(g.name) shape")
                assertClose(g.values, e.floats(), atol: 1e-5, rtol: 1e-4, "\(name) grad \(g.name)")
            }
        }
    }

    func testAdamWTrajectoryFollowsPyTorch() throws {
        for name in Self.cases {
            let c = try gated(name)
            let losses = try c.adamWLosses()
            assertClose(losses, try c.reference.tensor("adamw_losses").floats(), atol: 2e-4, rtol: 1e-5, "\(name) AdamW trajectory")
        }
    }

    /// The block runs the gate in both executors, on the fused and the step-by-step attention path.
    func testEagerEqualsTapeAtEverySite() throws {
        for name in Self.cases {
            let c = try gated(name)
            for steps in [false, true] {
                var options = ForwardOptions(capture: Set(CapturePoint.allCases).subtracting(steps ? [] : [.scores, .probabilities]))
                if steps { options.attention = .clippedSoftmax(alpha: 12, maxSeqLength: 512) }
                let eager = try c.model.forward(c.input, options: options)
                let taped = try TrainableModel(c.model).forward(c.input, options: options, tape: Tape())
                let label = "\(name) / \(steps ? "steps, clipped" : "fused")"
                assertClose(taped.logits.value, eager.logits, atol: 1e-5, "\(label) logits")
                XCTAssertEqual(Set(taped.captures.keys), Set(eager.captures.keys), "\(label) sites")
                for (key, e) in eager.captures { assertClose(taped.captures[key]!.value, e.values, atol: 1e-5, "\(label) \(key)") }
            }
        }
    }

    /// Without its gate the model computes something else: the gate is really in the forward.
    func testGateChangesTheContext() throws {
        let c = try gated("llama_linear")
        let gated = try c.model.forward(c.input, options: ForwardOptions(capture: [.attentionContext]))
        let gates = c.model.layers.map(\.attentionGate)
        for l in c.model.layers { l.attentionGate = nil }
        defer { for (l, g) in zip(c.model.layers, gates) { l.attentionGate = g } }
        let plain = try c.model.forward(c.input, options: ForwardOptions(capture: [.attentionContext]))
        let key = CaptureKey(layer: 0, point: .attentionContext)
        let ratio = zip(gated.captures[key]!.values, plain.captures[key]!.values).filter { abs($0.1) > 1e-3 }.map { $0.0 / $0.1 }
        XCTAssertTrue(ratio.allSatisfy { $0 > 0 && $0 < 1 }, "π ∈ (0, 1) scales the context: \(ratio.prefix(4))")
    }

    func testInitialisedGateShapesAndInit() {
        var rng = SeededGenerator(seed: 1)
        let linear = AttentionGate.initialised(AttentionGateSettings(initialProbability: 0.25), heads: 4, headDim: 8, hidden: 32,
                                               prefix: "model.layers.0.self_attn.gate", using: &rng)
        XCTAssertEqual(linear.parameters.map(\.shape), [[4, 1, 8], [4, 1]])
        assertClose(linear.parameters[1].value, [Float](repeating: -1.0986123, count: 4), atol: 1e-6, "bias = logit(0.25)")
        XCTAssertTrue(linear.parameters[0].value.allSatisfy { abs($0) <= 1 / Float(8).squareRoot() }, "U(±1/√d_h)")
        let ft = AttentionGate.initialised(AttentionGateSettings(initialProbability: 0.25, fineTuning: true), heads: 4, headDim: 8, hidden: 32,
                                           prefix: "g", using: &rng)
        XCTAssertEqual(ft.settings.outputFactor, 4)
        XCTAssertLessThan(ft.parameters[0].value.map(abs).max()!, 0.01, "fine-tuning: weights N(0, 0.001²)")
        let mlp = AttentionGate.initialised(AttentionGateSettings(network: .mlp), heads: 4, headDim: 8, hidden: 32, prefix: "g", using: &rng)
        XCTAssertEqual(mlp.parameters.map(\.shape), [[4, 2, 8], [4, 2], [4, 1, 2], [4, 1]])
        let all = AttentionGate.initialised(AttentionGateSettings(network: .linearAllFeatures), heads: 4, headDim: 8, hidden: 32, prefix: "g", using: &rng)
        XCTAssertEqual(all.parameters.map(\.shape), [[4, 32], [4]])
        let elementwise = AttentionGate.initialised(AttentionGateSettings(network: .elementwise, initialProbability: 0.25), heads: 4, headDim: 8,
                                                    hidden: 32, prefix: "g", using: &rng)
        XCTAssertEqual(elementwise.parameters.map(\.shape), [[32, 32], [32]], "one gate per context channel (H·d_h)")
        assertClose(elementwise.parameters[1].value, [Float](repeating: -1.0986123, count: 32), atol: 1e-6, "bias = logit(0.25)")
        let un = AttentionGate.initialised(AttentionGateSettings(type: .unconditionalPerHead), heads: 4, headDim: 8, hidden: 32, prefix: "g", using: &rng)
        XCTAssertEqual(un.parameters.map(\.value), [[0, 0, 0, 0]], "unconditional: logit 0, π = 0.5")
    }

    func testMissingGateTensorNamesIt() throws {
        let folder = Fixtures.path("gated/llama_linear")
        let store = EditableCheckpoint(source: try Checkpoint(path: folder))
        store.config["whittle"] = ["attention_gate": ["type": "conditional_per_token", "network": "mlp"]]
        XCTAssertThrowsError(try TransformerModel.load(from: store)) { error in
            XCTAssertTrue("\(error)".contains("model.layers.0.self_attn.gate.fc1.weight"), "\(error)")
        }
    }

    func testWhittleSectionClippedSoftmaxByAlpha() throws {
        let w = try WhittleConfig.read(from: ["whittle": ["attention": ["normaliser": "clipped_softmax", "alpha": 12, "max_seq_length": 512]]])
        XCTAssertEqual(try w.attentionVariant(), .clippedSoftmax(gamma: -0.0234375, zeta: 1))
        let missing = try WhittleConfig.read(from: ["whittle": ["attention": ["normaliser": "clipped_softmax", "alpha": 12]]])
        XCTAssertThrowsError(try missing.attentionVariant()) { XCTAssertTrue("\($0)".contains("max_seq_length"), "\($0)") }
        let roundTrip = try WhittleConfig.read(from: ["whittle": w.jsonObject])
        XCTAssertEqual(roundTrip, w)
    }

    /// Calibration streams layers from the store: gates and the whittle normaliser apply there too.
    func testLayerStreamingRunsGatesAndClippedSoftmax() throws {
        let store = EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("gated/llama_linear")))
        var w = try WhittleConfig.read(from: store.config)
        w.attention = .init(normaliser: "clipped_softmax", alpha: 12, maxSeqLength: 32)
        store.config["whittle"] = w.jsonObject
        let model = try TransformerModel.load(from: store)
        let input = ModelInput(tokens: [[1, 5, 9, 3, 7, 2]])
        let direct = try model.forward(input)
        let streamed = try LayerStreamingExecutor(store: store).run([input])
        assertClose(streamed[0].logits, direct.logits, atol: 1e-5, "streamed == loaded")
        for l in model.layers { l.structure.attention = .standard }
        XCTAssertNotEqual(try model.forward(input).logits, direct.logits, "the case depends on the normaliser")
    }
}
