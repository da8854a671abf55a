import XCTest
import Checkpoints
import Datasets
import Models
import Tensors
@testable import Passes
import TestSupport

/// Layer-streamed pruning (docs/ARCHITECTURE.md "Layer-streamed pruning"): OPTIN's trajectory
/// scores and FinerCut's removal order computed with the layers read from the checkpoint one at a
/// time equal, bit for bit, those of the loaded model — on plain, physically pruned, fused (GPT-2),
/// tied-head and classifier models, and on a model whose `whittle` section masks units and skips a
/// sublayer (which the streamed layers must honour).
final class PruningStreamingTests: XCTestCase {
    /// Seeded calibration sequences (more than `TrajectoryScorer.headRows` rows, so the head runs in chunks).
    func calibration(count: Int, length: Int, vocab: Int, seed: UInt64) -> [Example] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Example(ids: (0..<length).map { _ in Int32.random(in: 1..<Int32(vocab), using: &rng) }) }
    }

    func store(_ name: String) throws -> EditableCheckpoint {
        EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("models-reference/\(name)")))
    }

    /// Scores (and the selection at 0.6) of the loaded model and of the streamed one; identical terms.
    func checkOptin(_ store: TensorStore, calibration: [Example], pass: OptinPruning = OptinPruning(),
                    file: StaticString = #filePath, line: UInt = #line) throws {
        var pass = pass
        pass.neuronBatch = 5
        let whole = try TransformerModel.load(from: store)
        let streamer = try LayerStreamingExecutor(store: store)
        let a = try pass.scores(whole, calibration: calibration, seed: 3)
        let b = try pass.scores(streamer, calibration: calibration, seed: 3)
        XCTAssertEqual(a.units, b.units, file: file, line: line)
        XCTAssertEqual(a.terms, b.terms, "streamed terms differ from the loaded model's", file: file, line: line)
        XCTAssertTrue(a.terms.contains { $0.md > 0 } && a.terms.contains { $0.kl > 0 }, "degenerate scores", file: file, line: line)
        let s = OptinPruning.meanLength(calibration)
        XCTAssertEqual(try pass.plan(whole, scores: a, macSeqLen: s).0, try pass.plan(streamer, scores: b, macSeqLen: s).0, file: file, line: line)
        // Waves: each layer is converted once per wave, not once per item.
        let items = a.units.count
        XCTAssertLessThan(streamer.layerLoads, items * whole.layers.count, file: file, line: line)
    }

    func testStreamedOptinScoresEqualTheLoadedModels() throws {
        for name in ["llama_gqa", "llama_pruned", "qwen2_bias_tied"] {
            try checkOptin(try store(name), calibration: calibration(count: 3, length: 30, vocab: 64, seed: 11))
        }
        // GPT-2: fused c_attn, Conv1D weights, learned positions (16).
        try checkOptin(try store("gpt2"), calibration: calibration(count: 5, length: 16, vocab: 64, seed: 12))
    }

    func testStreamedOptinScoresEqualOnAClassifierPaddedAndUnpadded() throws {
        let sentences = [[2, 10, 11, 12, 3], [2, 20, 21, 3], [2, 30, 31, 32, 33, 34, 3]].map { Example(ids: $0.map(Int32.init), label: 1) }
        try checkOptin(try store("bert_classifier"), calibration: sentences)
        try checkOptin(try store("bert_classifier"), calibration: sentences, pass: OptinPruning(excludePadding: true))
    }

    /// The `whittle` section (masked heads and neurons of the zeroed layout, a skipped sublayer) is
    /// applied to each streamed layer as to the loaded model.
    func testStreamedScoringHonoursTheWhittleSection() throws {
        let model = try store("llama_gqa")
        let loaded = try TransformerModel.load(from: model)
        var plan = PruningPlan(heads: loaded.headCounts, ffnWidths: loaded.ffnWidths)
        plan.keepHeads[0] = [true, false, true, true]
        for n in stride(from: 0, to: 48, by: 4) { plan.keepNeurons[1][n] = false }
        plan.skipped = [SublayerID(layer: 0, kind: .mlp)]
        _ = try PrunedCheckpointWriter(model: model, config: loaded.config).write(plan, layout: .zeroed)
        // Structure that only the loaded layer knows (the tensors are unchanged): a masked head whose
        // weights are not zeroed and the clipped-softmax normaliser.
        var whittle = try XCTUnwrap(model.config["whittle"] as? [String: Any])
        var masked = whittle["masked_heads"] as? [String: Any] ?? [:]
        masked["1"] = [2]
        whittle["masked_heads"] = masked
        whittle["attention"] = ["normaliser": "clipped_softmax", "gamma": -0.03, "zeta": 1.0]
        model.config["whittle"] = whittle
        XCTAssertNotEqual(try TransformerModel.load(from: model).layers[1].structure.maskedHeads, [])
        try checkOptin(model, calibration: calibration(count: 3, length: 30, vocab: 64, seed: 13))
        try checkOptin(model, calibration: calibration(count: 2, length: 20, vocab: 64, seed: 14), pass: {
            var p = OptinPruning(); p.unresetHeadMask = true; return p
        }())
    }

    /// The pass with `"streaming": true` writes what the loaded-model pass writes.
    func testStreamingPassWritesTheSameCheckpoint() throws {
        let data = calibration(count: 3, length: 30, vocab: 64, seed: 15)
        var outputs: [[String: [UInt8]]] = [], sections: [String] = []
        for streaming in [false, true] {
            let model = try store("llama_gqa")
            var pass = OptinPruning(flopsRatio: 0.5)
            pass.streaming = streaming
            let report = try pass.apply(to: model, context: PassContext(calibration: data))
            XCTAssertEqual(report.notes.contains { $0.hasPrefix("streaming:") }, streaming)
            outputs.append(Dictionary(uniqueKeysWithValues: try model.names.map { name in
                let t = try model.tensor(name)
                return (name, Array(UnsafeRawBufferPointer(start: t.storage.pointer, count: t.storage.byteCount)))
            }))
            let whittle = try JSONSerialization.data(withJSONObject: model.config["whittle"] ?? [:], options: [.sortedKeys])
            sections.append(String(decoding: whittle, as: UTF8.self))
        }
        XCTAssertEqual(outputs[0], outputs[1])
        XCTAssertEqual(sections[0], sections[1])
        XCTAssertTrue(sections[0].contains("masked_heads") || sections[0].contains("masked_neurons"), sections[0])
    }

    func testStreamingRefusesTheWeightBaselines() {
        var pass = OptinPruning(ranking: .magnitude)
        pass.streaming = true
        XCTAssertThrowsError(try pass.validate(path: "passes[0]")) {
            XCTAssertEqual(($0 as? PassError)?.description.hasPrefix("passes[0].streaming:"), true, "\($0)")
        }
    }

    // MARK: FinerCut

    func testStreamedFinerCutOrderEqualsTheLoadedModels() throws {
        let text = try String(contentsOfFile: Fixtures.path("eval/stories260k_samples.tokens"), encoding: .utf8)
        let data = text.split(separator: "\n").prefix(2).map { Example(ids: $0.split(separator: " ").prefix(64).map { Int32($0)! }) }
        let store = EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("models/stories260K")))
        for pass in [FinerCutPruning(removeCount: 0), FinerCutPruning(removeCount: 0, divergence: .angular),
                     FinerCutPruning(removeCount: 0, exclude: 0.3), FinerCutPruning(removeCount: 0, baseline: .block)] {
            let whole = try TransformerModel.load(from: store)
            let streamer = try LayerStreamingExecutor(store: store)
            let input = try pass.calibrationInput(data, config: whole.config)
            let a = try pass.removalOrder(whole, input: input, count: 0)
            let b = try pass.removalOrder(streamer, input: input, count: 0)
            XCTAssertEqual(a.count, 10)
            XCTAssertEqual(a, b, "\(pass.divergence) \(pass.baseline)")
            XCTAssertGreaterThan(streamer.layerLoads, 0)
        }
    }

    func testStreamingFinerCutPassWritesTheSameCheckpoint() throws {
        let text = try String(contentsOfFile: Fixtures.path("eval/stories260k_samples.tokens"), encoding: .utf8)
        let data = text.split(separator: "\n").prefix(2).map { Example(ids: $0.split(separator: " ").prefix(64).map { Int32($0)! }) }
        var reports: [PassReport] = []
        for streaming in [false, true] {
            let store = EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("models/stories260K")))
            var pass = FinerCutPruning(removeCount: 3)
            pass.streaming = streaming
            reports.append(try pass.apply(to: store, context: PassContext(calibration: data)))
        }
        XCTAssertEqual(reports[0].series, reports[1].series)
        XCTAssertEqual(reports[0].notes.first, reports[1].notes.first)
        XCTAssertEqual(reports[0].tensors, reports[1].tensors)
    }
}
