import Checkpoints
import Models
import TestSupport
import XCTest

/// Tiny random models built by transformers 5 (tools/reference/models_reference.py): logits and every
/// sublayer activation must match at fp32 (atol 1e-4).
final class ReferenceParityTests: XCTestCase {
    func testLlamaGQAMatchesTransformers() throws { try ReferenceCase("llama_gqa").check(atol: 1e-4) }
    func testLlamaMHATiedWithRopeParametersTheta() throws { try ReferenceCase("llama_mha_tied").check(atol: 1e-4) }
    func testLlamaMQAWithAttentionAndMLPBiases() throws { try ReferenceCase("llama_mqa_bias").check(atol: 1e-4) }
    func testLlamaLinearRopeScaling() throws { try ReferenceCase("llama_rope_linear").check(atol: 1e-4) }
    func testLlamaDynamicNTKBeyondMaxPositions() throws { try ReferenceCase("llama_rope_dynamic").check(atol: 1e-4) }
    func testLlama3RopeScaling() throws { try ReferenceCase("llama_rope_llama3").check(atol: 1e-4) }
    func testLlamaPaddingMask() throws { try ReferenceCase("llama_padding").check(atol: 1e-4) }
    func testQwen2QKVBiasesTied() throws { try ReferenceCase("qwen2_bias_tied").check(atol: 1e-4) }
    func testMistralWithinSlidingWindow() throws { try ReferenceCase("mistral_window").check(atol: 1e-4) }
    func testGPT2Conv1DLearnedPositionsTied() throws { try ReferenceCase("gpt2").check(atol: 1e-4) }
    func testBertClassifierTokenTypesPadding() throws { try ReferenceCase("bert_classifier").check(atol: 1e-4) }
    func testBareBertModelWithoutPrefix() throws { try ReferenceCase("bert_model").check(atol: 1e-4) }

    func testLlamaHeadMaskNeuronMaskAndSkippedSublayers() throws {
        let c = try ReferenceCase("llama_hooks")
        let options = ForwardOptions(headMask: try c.matrix("head_mask"), neuronMask: try c.matrix("neuron_mask"),
                                     skip: [SublayerID(layer: 0, kind: .mlp), SublayerID(layer: 1, kind: .attention)])
        try c.check(options: options, atol: 1e-4)
    }

    func testBertHeadMaskNeuronMaskAndSkippedMLP() throws {
        let c = try ReferenceCase("bert_hooks")
        let options = ForwardOptions(headMask: try c.matrix("head_mask"), neuronMask: try c.matrix("neuron_mask"),
                                     skip: [SublayerID(layer: 1, kind: .mlp)])
        try c.check(options: options, atol: 1e-4)
    }

    func testLlamaClippedSoftmax() throws {
        try ReferenceCase("llama_clipped").check(options: ForwardOptions(attention: .clippedSoftmax(gamma: -0.1, zeta: 1.1)), atol: 1e-4)
    }

    func testBertClippedSoftmax() throws {
        try ReferenceCase("bert_clipped").check(options: ForwardOptions(attention: .clippedSoftmax(gamma: -0.1, zeta: 1.1)), atol: 1e-4)
    }

    /// Physically sliced heads (layer 0 keeps 2 of 4 heads, 1 of 2 kv heads) and FFN widths (24, 40 of 48)
    /// must compute what the full model computes with those units masked.
    func testPhysicallyPrunedShapesMatchMaskedFullModel() throws {
        let c = try ReferenceCase("llama_pruned")
        let model = try TransformerModel.load(from: try Checkpoint(path: c.folder))
        XCTAssertEqual(model.headCounts, [2, 4])
        XCTAssertEqual(model.layers.map(\.kvHeads), [1, 2])
        XCTAssertEqual(model.ffnWidths, [24, 40])
        try c.check(points: [.attentionOutput, .ffnOutput, .blockOutput, .attentionInput, .ffnInput], atol: 1e-4)
    }
}
