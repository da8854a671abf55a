import XCTest
@testable import Passes

/// The one selector behind every `targets` / `ignore` list (DESIGN.md §6).
final class TensorTargetsTests: XCTestCase {
    let shape = [8, 8]

    func testLinearMeansTwoDimensionalWeightsInsideNumberedBlocks() {
        let t = TensorTargets()
        for name in ["model.layers.0.self_attn.q_proj.weight", "model.layers.11.mlp.down_proj.weight",
                     "bert.encoder.layer.3.attention.self.query.weight", "transformer.h.0.mlp.c_fc.weight"] {
            XCTAssertTrue(t.selects(name, shape: shape), name)
        }
        for name in ["model.embed_tokens.weight", "lm_head.weight", "model.norm.weight", "classifier.weight",
                     "bert.pooler.dense.weight", "model.layers.0.input_layernorm.weight", "transformer.wte.weight"] {
            XCTAssertFalse(t.selects(name, shape: shape), name)
        }
        XCTAssertFalse(t.selects("model.layers.0.self_attn.q_proj.bias", shape: [8]), "biases are not weights")
        XCTAssertFalse(t.selects("model.layers.0.self_attn.q_proj.weight", shape: [64]), "only 2-D weights")
    }

    func testProtectedModulesOnlyWhenNamedExactly() {
        XCTAssertFalse(TensorTargets(targets: ["*"]).selects("lm_head.weight", shape: shape))
        XCTAssertTrue(TensorTargets(targets: ["lm_head"]).selects("lm_head.weight", shape: shape))
    }

    func testGlobsRegexesAndIgnore() {
        let mlp = TensorTargets(targets: ["model.layers.*.mlp.*"])
        XCTAssertTrue(mlp.selects("model.layers.3.mlp.down_proj.weight", shape: shape))
        XCTAssertFalse(mlp.selects("model.layers.3.self_attn.q_proj.weight", shape: shape))
        let qk = TensorTargets(targets: ["re:\\.(q|k)_proj$"])
        XCTAssertTrue(qk.selects("model.layers.0.self_attn.k_proj.weight", shape: shape))
        XCTAssertFalse(qk.selects("model.layers.0.self_attn.v_proj.weight", shape: shape))
        let ignoring = TensorTargets(targets: ["Linear"], ignore: ["re:layers\\.0\\."])
        XCTAssertFalse(ignoring.selects("model.layers.0.mlp.up_proj.weight", shape: shape))
        XCTAssertTrue(ignoring.selects("model.layers.1.mlp.up_proj.weight", shape: shape))
    }

    func testInvalidEntriesNameThePath() {
        XCTAssertThrowsError(try TensorTargets(ignore: ["re:(unclosed"]).validate(path: "passes[0]")) { error in
            XCTAssertEqual(error as? PassError, PassError("passes[0].ignore", "'re:(unclosed' is not a valid regular expression"))
        }
        XCTAssertThrowsError(try TensorTargets(targets: []).validate(path: "passes[0]")) { error in
            XCTAssertEqual(error as? PassError, PassError("passes[0].targets", "must name at least one target (e.g. \"Linear\")"))
        }
    }
}
