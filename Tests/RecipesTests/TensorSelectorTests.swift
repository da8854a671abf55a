import XCTest
import Passes

final class TensorSelectorTests: XCTestCase {
    func testExactNameAlsoMatchesTheModulesTensors() {
        let s = TensorSelector(["lm_head"])
        XCTAssertTrue(s.matches("lm_head"))
        XCTAssertTrue(s.matches("lm_head.weight"))
        XCTAssertFalse(s.matches("lm_head_extra.weight"))
        XCTAssertFalse(s.matches("model.lm_head.weight"))
    }

    func testGlobs() {
        let s = TensorSelector(["model.layers.*.mlp.*"])
        XCTAssertTrue(s.matches("model.layers.3.mlp.down_proj.weight"))
        XCTAssertFalse(s.matches("model.layers.3.self_attn.q_proj.weight"))
        XCTAssertTrue(TensorSelector(["model.layers.?.self_attn"]).matches("model.layers.7.self_attn.o_proj.weight"))
        XCTAssertFalse(TensorSelector(["model.layers.?.self_attn"]).matches("model.layers.17.self_attn.o_proj.weight"))
    }

    func testRegexMustMatchTheWholeName() {
        let s = TensorSelector(["re:.*\\.(q|k)_proj\\.weight"])
        XCTAssertTrue(s.matches("model.layers.0.self_attn.q_proj.weight"))
        XCTAssertFalse(s.matches("model.layers.0.self_attn.v_proj.weight"))
        XCTAssertFalse(TensorSelector(["re:q_proj"]).matches("model.layers.0.self_attn.q_proj.weight"))
    }

    func testInvalidRegexNamesThePath() {
        XCTAssertThrowsError(try TensorSelector(["ok", "re:(unclosed"]).validate(path: "passes[0].ignore")) { error in
            XCTAssertEqual(error as? PassError, PassError("passes[0].ignore[1]", "invalid regular expression '(unclosed'"))
        }
    }

    func testProtectedDefaults() {
        for name in ["model.embed_tokens.weight", "model.norm.weight", "model.layers.0.input_layernorm.weight",
                     "lm_head.weight", "classifier.weight", "bert.pooler.dense.weight", "transformer.wte.weight",
                     "bert.embeddings.LayerNorm.weight", "score.weight"] {
            XCTAssertTrue(ProtectedTensors.isProtected(name), name)
        }
        for name in ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.down_proj.weight",
                     "bert.encoder.layer.0.attention.self.query.weight", "transformer.h.0.mlp.c_fc.weight"] {
            XCTAssertFalse(ProtectedTensors.isProtected(name), name)
        }
    }
}
