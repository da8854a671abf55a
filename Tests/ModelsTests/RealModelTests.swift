import Checkpoints
import Models
import TestSupport
import XCTest

/// The real models (stories260K committed in fixtures/, minilm-l6-sst2 in ../shared) against transformers' logits on fixed inputs.
final class RealModelTests: XCTestCase {
    /// `committed`: the model is also a fixture (fixtures/models/NAME, the same file), so the test never skips.
    func check(model name: String, committed: Bool = false, atol: Float) throws {
        let path: String
        if committed {
            path = try Fixtures.required("models/\(name)", regenerate: "copy ../shared/models/\(name) (see fixtures/README.md)")
        } else {
            guard let shared = Fixtures.shared("models/\(name)") else { throw XCTSkip("../shared/models/\(name) absent") }
            path = shared
        }
        let reference = try ReferenceCase.open(Fixtures.path("models-reference/\(name).safetensors"))
        let model = try TransformerModel.load(path: path)
        let out = try model.forward(try ReferenceCase.input(reference))
        let want = try reference.tensor("output")
        XCTAssertEqual(out.shape, want.shape)
        assertClose(out.logits, want.floats(), atol: atol)
    }

    func testStories260KLogitsMatchTransformers() throws { try check(model: "stories260K", committed: true, atol: 1e-4) }

    /// F16 weights converted per tensor to f32, like transformers loading with dtype=float32.
    func testMiniLMSST2ClassifierLogitsMatchTransformers() throws { try check(model: "minilm-l6-sst2", atol: 1e-4) }
}
