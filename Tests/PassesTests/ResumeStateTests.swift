import XCTest
import Checkpoints
import Datasets
import Models
@testable import Passes
import TestSupport
import Training

/// What a long pass takes from saved progress (`WorkLedger` items): FinerCut's greedy steps and the
/// static scheme's per-window batch ranges. A saved item is used as saved — never computed again —
/// and the work goes on from the state it leaves (the CLI kill tests check the outputs end to end).
final class ResumeStateTests: XCTestCase {
    /// Saved steps are taken without evaluating a candidate, even one the greedy choice would not make,
    /// and the loop continues from the removed set they leave; fresh steps are reported with their index.
    func testGreedyRemovalContinuesFromSavedSteps() throws {
        let saved = [RemovalStep(sublayer: SublayerID(layer: 3, kind: .mlp), divergence: 0.5)]
        var evaluated: [Set<SublayerID>] = [], recorded: [Int] = []
        let order = try greedyRemovalOrder(layers: 4, steps: 3, done: saved, onRemoval: { i, _ in recorded.append(i) }) { removed, c in
            evaluated.append(removed)
            return Double(c.layer * 2 + (c.kind == .attention ? 0 : 1))
        }
        XCTAssertEqual(order.first, saved[0])
        XCTAssertTrue(evaluated.allSatisfy { $0.contains(saved[0].sublayer) }, "every evaluation starts from the saved removal")
        XCTAssertEqual(evaluated.count, 7 + 6, "steps 2 and 3 evaluate the 7 and 6 remaining candidates, step 1 none")
        XCTAssertEqual(order.dropFirst().map(\.sublayer), [SublayerID(layer: 0, kind: .attention), SublayerID(layer: 0, kind: .mlp)])
        XCTAssertEqual(recorded, [1, 2])
    }

    /// A diverged value (a NaN loss, an infinite divergence) is saved and comes back, rather than
    /// failing the save of a long run.
    func testLedgerItemsKeepNonFiniteValues() throws {
        let ledger = WorkLedger()
        try ledger.record("passes[0]", 0, [Float.nan, .infinity, -.infinity, 1.5])
        let back = try XCTUnwrap(ledger.item("passes[0]", 0, as: [Float].self))
        XCTAssertTrue(back[0].isNaN)
        XCTAssertEqual(Array(back[1...]), [.infinity, -.infinity, 1.5])
    }

    func stories() throws -> (EditableCheckpoint, [Example]) {
        let text = try String(contentsOfFile: Fixtures.path("eval/stories260k_samples.tokens"), encoding: .utf8)
        let windows = text.split(separator: "\n").prefix(4).map { Example(ids: $0.split(separator: " ").prefix(32).map { Int32($0)! }) }
        return (EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("models/stories260K"))), windows)
    }

    /// FinerCut through the pass: a ledger holding a first step (as a killed run saved it) makes the
    /// order start with it, and every step the run chooses is recorded.
    func testFinerCutPassTakesSavedStepsFromTheLedger() throws {
        let (model, windows) = try stories()
        let network = try TransformerModel.load(from: model)
        let pass = FinerCutPruning(removeCount: 2, fullOrder: false)
        let input = try pass.calibrationInput(windows, config: network.config)
        let fresh = try pass.removalOrder(network, input: input, count: 2)
        // A first step other than the greedy one: the resumed order keeps it.
        let other = SublayerID(layer: 0, kind: .mlp)
        XCTAssertNotEqual(fresh[0].sublayer, other)
        let ledger = WorkLedger()
        try ledger.record("passes[0]", 0, RemovalStep(sublayer: other, divergence: 9))
        let resumed = try pass.removalOrder(network, input: input, count: 2, ledger: ledger, step: "passes[0]")
        XCTAssertEqual(resumed[0], RemovalStep(sublayer: other, divergence: 9))
        XCTAssertEqual(try ledger.item("passes[0]", 1, as: RemovalStep.self), resumed[1])
        // The same order the greedy loop gives with that first step forced.
        let replay = WorkLedger()
        try replay.record("passes[0]", 0, RemovalStep(sublayer: other, divergence: 9))
        XCTAssertEqual(try pass.removalOrder(network, input: input, count: 2, ledger: replay, step: "passes[0]"), resumed)
    }

    /// Static calibration: a slice computes only its windows and stops (`SliceComplete`); windows taken
    /// from a ledger are folded as saved (a doctored window changes the calibrated range), and the
    /// joined slices give the single run's ranges exactly.
    func testStaticCalibrationWindowsAreLedgerItems() throws {
        let (model, windows) = try stories()
        let network = try TransformerModel.load(from: model)
        let probe = StaticW8A8Probe(observer: .minmax)
        let single = try probe.run(model: network, calibration: windows)
        let joined = WorkLedger()
        for i in 0..<3 {
            let slice = WorkLedger(slice: WorkSlice(index: i, count: 3))
            XCTAssertThrowsError(try probe.run(model: network, calibration: windows, ledger: slice, step: "passes[0]")) {
                XCTAssertEqual(($0 as? SliceComplete)?.step, "passes[0]")
            }
            XCTAssertEqual(slice.items["passes[0]"]?.keys.sorted(), Array(WorkSlice(index: i, count: 3).range(of: 4)))
            try joined.merge(slice)
        }
        let merged = try probe.run(model: network, calibration: windows, ledger: joined, step: "passes[0]")
        XCTAssertEqual(merged.ranges, single.ranges)
        XCTAssertEqual(merged.checkpoint, single.checkpoint)
        // A saved window is used as it is: widen window 0's first range and the fold moves.
        var first = try XCTUnwrap(joined.item("passes[0]", 0, as: StaticW8A8Probe.BatchRanges.self))
        first.max[0] += 100
        var items = joined.items
        items["passes[0]"]![0] = try JSONEncoder().encode(first)
        let doctored = WorkLedger(items: items)
        let moved = try probe.run(model: network, calibration: windows, ledger: doctored, step: "passes[0]")
        let key = CaptureKey(layer: first.layer[0], point: first.point[0])
        XCTAssertGreaterThan(try XCTUnwrap(moved.ranges[key]?.max), try XCTUnwrap(single.ranges[key]?.max) + 1)
    }

    /// QAT on the tiny BERT classifier with held-out accuracy every 3 steps (stochastic schedule): the
    /// progress folder as a kill after global step k leaves it (copied inside the step hook, which runs
    /// before that step's save) resumes to the uninterrupted run's weights, curves and accuracies.
    func testQATResumesItsCurvesAccuracyAndSamplerFromAKilledRunsState() throws {
        let folder = try Fixtures.required("training/bert_classifier/config.json", regenerate: "/root/venv/bin/python tools/reference/training_reference.py")
        let source = try Checkpoint(path: URL(fileURLWithPath: folder).deletingLastPathComponent().path)
        let examples = (0..<24).map { i in Example(ids: [1] + (0..<(3 + i % 4)).map { Int32(($0 * 7 + i * 3) % 38 + 2) }, label: i % 3) }
        let pass = try JSONDecoder().decode(QuantizationAwareTraining.self, from: Data(#"""
            {"pass": "qat", "schedule": "stochastic", "step1_steps": 4, "step2_steps": 4, "lr": 0.002, "batch_size": 8, "eval_every": 3}
            """#.utf8))
        let scratch = NSTemporaryDirectory() + "whittle-qat-resume-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        func context(_ progress: String, snapshot: (at: Int, to: String)? = nil) throws -> PassContext {
            try FileManager.default.createDirectory(atPath: progress, withIntermediateDirectories: true)
            var c = PassContext(calibration: Array(examples.prefix(9)), training: examples, seed: 5)
            c.progressFolder = progress
            c.step = "passes[0]"
            c.ledger.saveEvery = 2
            if let snapshot { c.ledger.afterStep = { if $0 == snapshot.at { try! FileManager.default.copyItem(atPath: progress, toPath: snapshot.to) } } }
            return c
        }
        let reference = EditableCheckpoint(source: source)
        let expected = try pass.apply(to: reference, context: try context(scratch + "/reference"))
        for k in [3, 5, 7] {
            let killed = scratch + "/killed\(k)"
            _ = try pass.apply(to: EditableCheckpoint(source: source), context: try context(scratch + "/run\(k)", snapshot: (k, killed)))
            let model = EditableCheckpoint(source: source)
            let resumed = try pass.apply(to: model, context: try context(killed))
            XCTAssertTrue(resumed.notes.contains { $0.hasPrefix("resumed from the training state a killed run saved (step 1 at ") }, "\(k): \(resumed.notes)")
            XCTAssertEqual(resumed.series.map(\.values), expected.series.map(\.values), "\(k): accuracy and loss curves")
            XCTAssertEqual(resumed.metrics, expected.metrics, "\(k)")
            for name in reference.names.sorted() {
                XCTAssertEqual(Array(try model.tensor(name).bytes), Array(try reference.tensor(name).bytes), "\(k): \(name)")
            }
        }
    }
}
