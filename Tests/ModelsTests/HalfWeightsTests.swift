import Checkpoints
import Foundation
import Models
import Tensors
import TestSupport
import XCTest

/// A BF16 / F16 checkpoint loaded for inference (`loadCompressed`) runs on its 16-bit weights
/// (`HalfLinear`, the token table left in the mapped file) and gives transformers' logits and greedy
/// tokens computed in f32 from the same 16-bit weights (tools/reference/half_weights_reference.py).
final class HalfWeightsTests: XCTestCase {
    static let regenerate = "/root/venv/bin/python tools/reference/half_weights_reference.py"

    func folder(_ name: String) throws -> String { try Fixtures.required("half/\(name)", regenerate: Self.regenerate) }

    func reference(_ name: String) throws -> Checkpoint {
        try Checkpoint(path: try Fixtures.required("half/\(name)/reference.safetensors", regenerate: Self.regenerate))
    }

    /// Greedy tokens with the KV cache (prefill, then one token a step), written with the Models API.
    func greedy(_ model: TransformerModel, prompt: [Int32], steps: Int) throws -> [Int32] {
        let cache = KVCache(model: model, batch: 1)
        var next = prompt, out: [Int32] = []
        for _ in 0..<steps {
            let logits = try model.forward(appending: [next], to: cache)
            let best = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            out.append(best); next = [best]
        }
        return out
    }

    func checkAgainstTransformers(_ name: String, dtype: DType, untiedHead: Bool) throws {
        let store = try Checkpoint(path: try folder(name))
        XCTAssertEqual(store.spec("model.layers.0.self_attn.q_proj.weight")?.dtype, dtype, "the fixture is stored as \(dtype)")
        let model = try TransformerModel.loadCompressed(from: store)
        // Every block linear and the head compute on the stored 16 bits; no f32 token table exists.
        for layer in model.layers {
            for (role, linear) in layer.linears {
                XCTAssertTrue(linear is HalfLinear, "\(name) layer \(layer.index) \(role) is \(type(of: linear))")
                XCTAssertEqual((linear as? HalfLinear)?.weight.dtype, dtype)
            }
        }
        XCTAssertTrue(model.head.lmHead is HalfLinear, "\(name) head is \(type(of: model.head.lmHead!))")
        XCTAssertEqual(model.embeddings.tokens.count, 0, "\(name): the token table was upcast to f32")
        if !untiedHead { XCTAssertEqual((model.head.lmHead as? HalfLinear)?.weight.storage.pointer, store.tensorStorage("model.embed_tokens.weight")) }

        let ref = try reference(name)
        let ids = try ref.tensor("ids"), expected = try ref.tensor("logits").floats()
        let rows = ids.shape[0], t = ids.shape[1]
        let tokens = ids.elements(as: Int32.self).map(Int.init)
        let out = try model.forward(ModelInput(tokens: (0..<rows).map { Array(tokens[($0 * t)..<(($0 + 1) * t)]) }))
        assertClose(out.logits, expected, atol: 2e-5, rtol: 1e-5, "\(name) logits vs transformers (f32 from \(dtype) weights)")
        // The same checkpoint upcast to f32 Linears (what training loads) agrees to rounding.
        let upcast = try TransformerModel.loadCompressed(from: store, halfWeights: false)
        XCTAssertTrue(upcast.layers[0].q is Linear && upcast.head.lmHead is Linear)
        assertClose(try upcast.forward(ModelInput(tokens: [Array(tokens[0..<t])])).logits, Array(expected[0..<(t * model.config.vocabSize)]),
                    atol: 2e-5, rtol: 1e-5, "\(name) upcast logits")

        let prompt = try ref.tensor("prompt").elements(as: Int32.self), want = try ref.tensor("greedy").elements(as: Int32.self)
        XCTAssertEqual(try greedy(model, prompt: prompt, steps: want.count), want, "\(name): greedy tokens with the KV cache vs transformers generate")
    }

    func testBF16LlamaTiedRunsOn16BitWeightsAndMatchesTransformers() throws {
        try checkAgainstTransformers("llama-bf16", dtype: .BF16, untiedHead: false)
    }

    func testF16Qwen2WithBiasesAndUntiedHeadMatchesTransformers() throws {
        try checkAgainstTransformers("qwen2-f16", dtype: .F16, untiedHead: true)
    }

    /// A 16-bit weight of the wrong shape is refused with the tensor's name, as for f32.
    func testWrongShapeNamesTheTensor() throws {
        let edited = EditableCheckpoint(source: try Checkpoint(path: try folder("llama-bf16")))
        let name = "model.layers.1.mlp.down_proj.weight"
        edited.set(name, Tensor(floats: [Float](repeating: 0.5, count: 40 * 70), shape: [40, 70]).converted(to: .BF16))
        XCTAssertThrowsError(try TransformerModel.loadCompressed(from: edited)) { error in
            XCTAssertEqual(error as? ModelError, .tensorShape(name: name, expected: [40, 72], found: [40, 70]))
        }
    }
}

extension Checkpoint {
    /// The address of a tensor's bytes (a view into the mapped file).
    func tensorStorage(_ name: String) -> UnsafeRawPointer? { (try? tensor(name))?.storage.pointer }
}
