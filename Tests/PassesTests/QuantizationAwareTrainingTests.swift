import Checkpoints
import Datasets
import Kernels
import Models
import Passes
import Tensors
import TestSupport
import Training
import XCTest

/// The `qat` pass end to end on the tiny BERT classifier (fixtures/training/bert_classifier): the
/// distillation loss falls, TI-G runs O → C → M in step 1, and the written block weights lie on the
/// quantizer's grid (ALGORITHMS.md §4).
final class QuantizationAwareTrainingTests: XCTestCase {
    func store() throws -> EditableCheckpoint {
        let folder = Fixtures.path("training/bert_classifier")
        _ = try Fixtures.required(String(folder.dropFirst(Fixtures.path("").count)) + "/config.json", regenerate: "/root/venv/bin/python tools/reference/training_reference.py")
        return EditableCheckpoint(source: try Checkpoint(path: folder))
    }

    func decode(_ json: String) throws -> QuantizationAwareTraining {
        try JSONDecoder().decode(QuantizationAwareTraining.self, from: Data(json.utf8))
    }

    let examples = (0..<24).map { i in
        Example(ids: [1] + (0..<(3 + i % 4)).map { Int32(($0 * 7 + i * 3) % 38 + 2) }, label: i % 3)
    }

    static let blockWeights = (0..<2).flatMap { l in
        ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense"]
            .map { "bert.encoder.layer.\(l).\($0).weight" }
    }

    func run(_ json: String) throws -> (EditableCheckpoint, PassReport) {
        let model = try store()
        let report = try decode(json).apply(to: model, context: PassContext(training: examples))
        return (model, report)
    }

    func testTernaryLossFallsAndWeightsAreTernary() throws {
        let (model, report) = try run(#"{"pass": "qat", "bits": "ternary", "step1_steps": 12, "step2_steps": 12, "lr": 0.002, "batch_size": 8, "seed": 1}"#)
        let written = try QuantizedTensorStore(model)   // the packed weights, dequantized
        XCTAssertEqual(written.layout, .packed)
        let curve = report.series[0].values
        XCTAssertEqual(curve.count, 24)
        // The intervention changes what the loss measures (O → C → M replaces less and less), so the
        // fall is checked over step 2, which has none: first four against last four steps.
        let step2 = Array(curve[12...])
        let head = step2.prefix(4).reduce(0, +) / 4, tail = step2.suffix(4).reduce(0, +) / 4
        XCTAssertLessThan(tail, 0.85 * head, "KD-QAT loss falls in step 2: \(curve)")
        XCTAssertLessThan(curve.last!, curve.first!, "\(curve)")
        XCTAssertEqual(report.metrics["steps_ti_output"], 2)
        XCTAssertEqual(report.metrics["steps_ti_context"], 2)
        XCTAssertEqual(report.metrics["steps_ti_map"], 8)
        for name in Self.blockWeights {
            let w = try written.tensor(name).floats()
            let levels = Set(w.map(abs))
            XCTAssertEqual(levels.count, 2, "\(name): {−α, 0, α}, got \(levels.sorted())")
            XCTAssertTrue(levels.contains(0), name)
            // Quantizing again changes nothing: the values are the quantizer's own grid.
            var again = w
            Quantizer.ternary(.tensor, clip: 2.5).fakeQuantizeForward(&again, w, rows: 1, cols: w.count)
            XCTAssertEqual(again, w, "\(name) is a fixed point of the ternary quantizer")
        }
        // TI: the word embedding ternary per row, the pooler per tensor; the classifier stays full precision.
        let table = try written.tensor("bert.embeddings.word_embeddings.weight")
        let c = table.shape[1], rows = table.floats()
        for r in 0..<table.shape[0] {
            let levels = Set(rows[(r * c)..<((r + 1) * c)].map(abs))
            XCTAssertTrue(levels.count <= 2 && levels.contains(0), "embedding row \(r): \(levels.sorted())")
        }
        XCTAssertEqual(Set(try written.tensor("bert.pooler.dense.weight").floats().map(abs)).count, 2, "pooler ternary")
        XCTAssertEqual(report.metrics["quantized_tensors"], 14)
        XCTAssertGreaterThan(Set(try model.tensor("classifier.weight").floats().map(abs)).count, 2, "classifier stays full precision")
        XCTAssertNotEqual(try model.tensor("classifier.weight").floats(), try model.source.tensor("classifier.weight").floats(), "full-precision head trains")
    }

    func testHeldOutFakeQuantAccuracyIsTracked() throws {
        let model = try store()
        let pass = try decode(#"{"pass": "qat", "step1_steps": 4, "step2_steps": 4, "lr": 0.002, "batch_size": 8, "eval_every": 3}"#)
        XCTAssertTrue(pass.needs.contains(.calibration))
        let report = try pass.apply(to: model, context: PassContext(calibration: Array(examples.prefix(9)), training: examples))
        let acc = try XCTUnwrap(report.series.first { $0.title.hasPrefix("Held-out accuracy") })
        XCTAssertEqual(acc.labels, ["0", "3", "6", "8"])
        XCTAssertTrue(acc.values.allSatisfy { (0...1).contains($0) })
        XCTAssertEqual(report.metrics["fake_quant_accuracy"], acc.values.last)
        // The written model, read back: dequantized it is the trained arithmetic, so the same accuracy.
        XCTAssertEqual(report.metrics["exported_accuracy_dequantized"], report.metrics["fake_quant_accuracy"])
        XCTAssertNotNil(report.metrics["exported_accuracy"], "the packed-kernel run of the written model")
    }

    func testFourBitWeightsLieOnTheSymmetricGrid() throws {
        let (model, report) = try run(#"{"pass": "qat", "bits": 4, "schedule": "stochastic", "step1_steps": 6, "step2_steps": 6, "lr": 0.002, "batch_size": 8}"#)
        XCTAssertEqual(report.series[0].values.count, 12)
        let written = try QuantizedTensorStore(model)
        for name in Self.blockWeights {
            XCTAssertEqual(try model.tensor(name).dtype, .U8, "\(name) packed")
            let w = try written.tensor(name).floats()
            let s = w.map(abs).max()! / 7
            XCTAssertLessThanOrEqual(Set(w).count, 15, name)
            let off = w.filter { abs(($0 / s).rounded() * s - $0) > 1e-6 }
            XCTAssertEqual(off.count, 0, "\(name): \(off.count) values off the grid of step \(s), first \(off.prefix(3))")
        }
    }

    func testPerRowScalesPutEachRowOnItsOwnGrid() throws {
        let (model, _) = try run(#"{"pass": "qat", "bits": 4, "weight_granularity": "row", "step1_steps": 2, "step2_steps": 2, "lr": 0.002, "batch_size": 8}"#)
        let written = try QuantizedTensorStore(model)
        for name in Self.blockWeights {
            let t = try written.tensor(name), w = try t.floats(), cols = t.shape[1]
            var steps = Set<Float>()
            for r in 0..<t.shape[0] {
                let row = w[(r * cols)..<((r + 1) * cols)], s = row.map(abs).max()! / 7
                steps.insert(s)
                let off = row.filter { abs(($0 / s).rounded() * s - $0) > 1e-6 }
                XCTAssertEqual(off.count, 0, "\(name) row \(r): \(off.count) values off the grid of step \(s)")
            }
            XCTAssertGreaterThan(steps.count, t.shape[0] / 2, "\(name): one scale per row")
        }
    }

    func testErrors() throws {
        XCTAssertThrowsError(try decode(#"{"pass": "qat", "weight_granularity": "token"}"#).validate(path: "passes[0]")) {
            XCTAssertEqual($0 as? PassError, PassError("passes[0].weight_granularity", "must be \"tensor\" or \"row\" (got \"token\")"))
        }
        XCTAssertThrowsError(try decode(#"{"pass": "qat", "bits": 3}"#))
        XCTAssertThrowsError(try decode(#"{"pass": "qat", "teacher_path": "x"}"#))
        XCTAssertThrowsError(try decode(#"{"pass": "qat", "step1_steps": 0, "step2_steps": 0}"#).validate(path: "passes[0]")) {
            XCTAssertEqual($0 as? PassError, PassError("passes[0].step1_steps", "step1_steps + step2_steps must be positive"))
        }
        XCTAssertThrowsError(try QuantizationAwareTraining().apply(to: try store(), context: PassContext())) {
            XCTAssertEqual($0 as? PassError, PassError("qat", "needs training examples: add a \"training\" data section to the recipe"))
        }
        XCTAssertEqual(PassRegistry.type(of: "qat").map { "\($0)" }, "QuantizationAwareTraining")
    }
}
