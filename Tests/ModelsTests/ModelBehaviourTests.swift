import Checkpoints
import Models
import TestSupport
import XCTest

final class ModelBehaviourTests: XCTestCase {
    func testLayerStreamingEqualsWholeModelForward() throws {
        let c = try ReferenceCase("llama_gqa")
        let store = try Checkpoint(path: c.folder)
        let model = try TransformerModel.load(from: store)
        let batches = [ModelInput(tokens: [[1, 2, 3, 4, 5]]), ModelInput(padding: [[7, 8, 9], [10, 11]])]
        let options = ForwardOptions(capture: [.blockOutput])
        var seen: [Int] = []
        let streamed = try LayerStreamingExecutor(store: store).run(batches, options: options) { layer, boundaries in
            seen.append(layer.index)
            XCTAssertEqual(boundaries.map(\.count), [5 * 32, 6 * 32])
        }
        XCTAssertEqual(seen, [0, 1])
        for (input, out) in zip(batches, streamed) {
            let whole = try model.forward(input, options: options)
            XCTAssertEqual(out.shape, whole.shape)
            assertClose(out.logits, whole.logits, atol: 0)
            assertClose(out.captures[CaptureKey(layer: 1, point: .blockOutput)]!.values,
                        whole.captures[CaptureKey(layer: 1, point: .blockOutput)]!.values, atol: 0)
        }
    }

    func testBertStreamingClassifier() throws {
        let c = try ReferenceCase("bert_classifier")
        let out = try LayerStreamingExecutor(store: try Checkpoint(path: c.folder)).run([try ReferenceCase.input(c.reference)])
        assertClose(out[0].logits, try c.expected("output").values, atol: 1e-4)
    }

    func testUnknownFamilyListsSupported() {
        XCTAssertThrowsError(try ModelConfig.from(json: ["model_type": "falcon", "architectures": ["FalconForCausalLM"]])) { error in
            XCTAssertEqual(error as? ModelError, .unsupportedFamily(modelType: "falcon", architectures: ["FalconForCausalLM"],
                                                                      supported: ["llama", "qwen2", "mistral", "gpt2", "bert"]))
            XCTAssertTrue("\(error)".contains("llama, qwen2, mistral, gpt2, bert"))
        }
    }

    func testTransformers4RopeScalingAndThetaParse() throws {
        let json: [String: Any] = ["model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
                                   "num_attention_heads": 4, "rope_theta": 500000.0,
                                   "rope_scaling": ["type": "linear", "factor": 4.0]]
        let config = try ModelConfig.from(json: json)
        XCTAssertEqual(config.rope, RopeConfig(theta: 500000, scaling: .linear(factor: 4), dim: 16))
        XCTAssertEqual(config.numKVHeads, 4)
        XCTAssertEqual(config.headDim, 16)
    }

    func testUnsupportedRopeTypeIsAConfigError() {
        let json: [String: Any] = ["model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
                                   "num_attention_heads": 4, "rope_parameters": ["rope_type": "yarn", "factor": 4.0]]
        XCTAssertThrowsError(try ModelConfig.from(json: json)) { error in
            XCTAssertEqual(error as? ModelError, .unsupportedOption(option: "rope_parameters.rope_type", reason: "'yarn' (supported: default, linear, dynamic, llama3)"))
        }
    }

    func testBadInputsThrow() throws {
        let model = try TransformerModel.load(from: try Checkpoint(path: try ReferenceCase("llama_gqa").folder))
        XCTAssertThrowsError(try model.forward(ModelInput(tokens: [[1, 64]]))) { error in
            XCTAssertEqual(error as? ModelError, .invalidInput(reason: "token id 64 in sequence 0 is outside the vocabulary 0..<64"))
        }
        XCTAssertThrowsError(try model.forward(ModelInput(tokens: [[1, 2], [3]])))
        XCTAssertThrowsError(try model.forward(ModelInput(tokens: [[1, 2]]), options: ForwardOptions(headMask: [[1, 1], [1, 1]]))) { error in
            XCTAssertEqual(error as? ModelError, .invalidInput(reason: "headMask[0] must have 4 entries (one per head of layer 0)"))
        }
    }

    func testZeroNeuronMaskEqualsSkippingTheMLP() throws {
        let model = try TransformerModel.load(from: try Checkpoint(path: try ReferenceCase("llama_gqa").folder))
        let input = ModelInput(tokens: [[3, 1, 4, 1, 5]])
        let masked = try model.forward(input, options: ForwardOptions(neuronMask: [[Float](repeating: 0, count: 48), [Float](repeating: 1, count: 48)]))
        let skipped = try model.forward(input, options: ForwardOptions(skip: [SublayerID(layer: 0, kind: .mlp)]))
        let plain = try model.forward(input)
        assertClose(masked.logits, skipped.logits, atol: 1e-6)
        XCTAssertNotNil(closeness(plain.logits, skipped.logits, atol: 1e-3), "skipping must change the output")
    }

    func testReplaceHookSubstitutesActivation() throws {
        let model = try TransformerModel.load(from: try Checkpoint(path: try ReferenceCase("llama_gqa").folder))
        let input = ModelInput(tokens: [[3, 1, 4]])
        // Zeroing layer 1's attention output through the hook equals skipping that sublayer.
        let zero = SiteHook([.attentionOutput], layers: [1], .replace { key in
            XCTAssertEqual(key, CaptureKey(layer: 1, point: .attentionOutput))
            return [Float](repeating: 0, count: 3 * 32)
        })
        let hooked = try model.forward(input, options: ForwardOptions(hooks: [zero]))
        let skipped = try model.forward(input, options: ForwardOptions(skip: [SublayerID(layer: 1, kind: .attention)]))
        assertClose(hooked.logits, skipped.logits, atol: 1e-6)
    }
}
