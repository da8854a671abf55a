import Checkpoints
import Foundation
import Models
import TestSupport
import XCTest

/// `ForwardOptions(headRows: .last)` (a prefill's last-token logits; the last block keeps only those
/// rows) against transformers' logits at the last position (tools/reference/models_reference.py fixtures).
final class LastTokenLogitsTests: XCTestCase {
    /// Decoder fixtures without padding (the last position is a real token in every sequence).
    static let decoders = ["llama_gqa", "llama_mha_tied", "llama_mqa_bias", "llama_rope_linear", "llama_rope_llama3",
                           "qwen2_bias_tied", "mistral_window", "gpt2", "llama_pruned"]

    /// transformers' logits `[B, T, V]` at position T − 1 of each sequence, as `[B·V]`.
    func lastRows(_ c: ReferenceCase) throws -> (values: [Float], batch: Int, vocab: Int) {
        let (values, shape) = try c.expected("output")
        let (b, t, v) = (shape[0], shape[1], shape[2])
        var rows: [Float] = []
        for s in 0..<b {
            let start: Int = (s * t + t - 1) * v
            rows += values[start..<(start + v)]
        }
        return (rows, b, v)
    }

    func testLastTokenLogitsMatchTransformersOnEveryDecoderFamily() throws {
        for name in Self.decoders {
            let c = try ReferenceCase(name)
            let model = try TransformerModel.load(from: try Checkpoint(path: c.folder))
            let out = try model.forward(try ReferenceCase.input(c.reference), options: ForwardOptions(headRows: .last))
            let (want, b, v) = try lastRows(c)
            XCTAssertEqual(out.shape, [b, 1, v], name)
            XCTAssertEqual(out.lastHidden.count, b * model.config.hidden, "\(name): the last block kept only the last rows")
            assertClose(out.logits, want, atol: 1e-4, name)
        }
    }

    /// A capture in the last layer needs its `[B, T, ·]` values: the block then runs every row, and the
    /// head still returns only the last positions.
    func testAHookedLastLayerRunsEveryRowAndStillGivesTheLastLogits() throws {
        let c = try ReferenceCase("llama_gqa")
        let model = try TransformerModel.load(from: try Checkpoint(path: c.folder))
        let last = model.config.numLayers - 1
        let options = ForwardOptions(capture: [.ffnOutput], captureLayers: [last], headRows: .last)
        XCTAssertFalse(model.layers[last].canKeepRows(options))
        let input = try ReferenceCase.input(c.reference)
        let out = try model.forward(input, options: options)
        let (want, b, v) = try lastRows(c)
        XCTAssertEqual(out.shape, [b, 1, v])
        XCTAssertEqual(out.lastHidden.count, b * input.seqLen * model.config.hidden)
        XCTAssertEqual(out.captures[CaptureKey(layer: last, point: .ffnOutput)]?.shape, [b, input.seqLen, model.config.hidden])
        assertClose(out.logits, want, atol: 1e-4)
    }
}
