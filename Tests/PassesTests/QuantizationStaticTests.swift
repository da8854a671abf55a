import XCTest
import Checkpoints
import Datasets
import Kernels
import Models
import Passes
import Tensors
import TestSupport

/// The static W8A8 scheme of the `int8` pass (ALGORITHMS.md §3.5): its quantizer and observer against
/// torch.ao, its kernel against the naive twin, and its checkpoint against transformers +
/// compressed-tensors (fixtures from tools/reference/quant_static.py).
final class QuantizationStaticTests: XCTestCase {
    static let modelPath = Fixtures.path("models/stories260K")
    /// tools/reference/quant_static.py loads this folder in transformers.
    static let outputFolder = NSTemporaryDirectory() + "whittle-quant-int8-static"

    static var calibration: [Example] {
        (0..<4).map { (k: Int) -> Example in
            let ids: [Int32] = (0..<24).map { (t: Int) -> Int32 in Int32((t * 7 + k * 13) % 500 + 3) }
            return Example(ids: ids)
        }
    }

    func writeStatic(_ pass: Int8Quantization = Int8Quantization(scheme: .static)) throws -> (Checkpoint, PassReport) {
        let model = EditableCheckpoint(source: try Checkpoint(path: Self.modelPath))
        let report = try pass.apply(to: model, context: PassContext(calibration: Self.calibration))
        try? FileManager.default.removeItem(atPath: Self.outputFolder)
        try CheckpointFolderWriter.write(model, to: Self.outputFolder)
        return (try Checkpoint(path: Self.outputFolder), try report.completed())
    }

    // MARK: quantizer and observer

    /// torch.ao's MovingAverageMinMaxObserver (averaging constant 0.1) and quint8 per-tensor affine
    /// qparams / fake quantization on the same batches.
    func testRunningMinMaxAndAsymmetricParamsMatchTorchAO() throws {
        let ao = try XCTUnwrap(try Fixtures.readJSON(Fixtures.path("quant/observers_torch_ao.json")) as? [String: Any])
        let data = try XCTUnwrap(try Fixtures.readJSON(Fixtures.path("quant/observers_reference.json")) as? [String: Any])
        let batches = (data["batches"] as! [[Double]]).map { $0.map(Float.init) }
        let ranges = ao["minmax"] as! [[Double]], qparams = ao["qparams"] as! [[Double]]
        var observer = RangeObserver(kind: .minmax, momentum: 0.9)
        for (k, batch) in batches.enumerated() {
            observer.observe(batch)
            assertClose([observer.min!, observer.max!], ranges[k].map(Float.init), atol: 0, rtol: 1e-6, "range after batch \(k)")
            let p = try XCTUnwrap(observer.params)
            XCTAssertEqual(p.scale, Float(qparams[k][0]), accuracy: Float(qparams[k][0]) * 1e-6, "scale after batch \(k)")
            XCTAssertEqual(p.zeroPoint, Float(qparams[k][1]), "zero point after batch \(k)")
        }
        let sample = (data["sample"] as! [Double]).map(Float.init)
        let expected = (ao["fake_quant_sample"] as! [Double]).map(Float.init)
        let p = try XCTUnwrap(observer.params)
        assertClose(sample.map(p.fakeQuantize), expected, atol: 1e-6, rtol: 1e-6)
    }

    /// By hand: range [−1, 3] → Δ = 4/255, z = round(63.75) = 64; 0.5 → code 96 → 32Δ; −2 clips to
    /// code 0 → −64Δ; 0 is exact. int8 codes are the uint8 codes − 128.
    func testAsymmetricQuantizerByHand() {
        let p = AsymmetricUInt8Params(min: -1, max: 3)
        XCTAssertEqual(p.scale, Float(4) / 255)
        XCTAssertEqual(p.zeroPoint, 64)
        XCTAssertEqual(p.code(0.5), 96)
        XCTAssertEqual(p.fakeQuantize(0.5), 32 * p.scale)
        XCTAssertEqual(p.code(-2), 0)
        XCTAssertEqual(p.fakeQuantize(0), 0)
        XCTAssertEqual(p.code(10), 255)
        var codes = [Int8](repeating: 0, count: 3)
        int8StaticCodes(&codes, [0.5, -2, 10], count: 3, p)
        XCTAssertEqual(codes, [-32, -128, 127])
    }

    // MARK: kernel

    func testStaticLinearKernelMatchesNaiveTwin() {
        var rng = SeededGenerator(seed: 14)
        let (m, n, k) = (5, 7, 37)
        let x = (0..<(m * k)).map { _ in Float.random(in: -1.5...2.5, using: &rng) }
        let w = (0..<(n * k)).map { _ in Int8.random(in: -128...127, using: &rng) }
        let ws = (0..<n).map { _ in Float.random(in: 0.001...0.01, using: &rng) }
        let b = (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
        let p = AsymmetricUInt8Params(min: -1, max: 2)       // clips some inputs on both sides
        var fast = [Float](repeating: 0, count: m * n), slow = fast
        int8StaticLinearForward(y: &fast, x: x, input: p, weight: w, weightScale: ws, bias: b, m: m, n: n, k: k)
        int8StaticLinearNaive(y: &slow, x: x, input: p, weight: w, weightScale: ws, bias: b, m: m, n: n, k: k)
        assertClose(fast, slow, atol: 1e-5, rtol: 1e-5)
    }

    // MARK: the checkpoint

    func testStaticConfigEqualsCompressedTensorsReference() throws {
        let reference = try XCTUnwrap(try Fixtures.readJSON(Fixtures.path("quant/int8_static_quantization_config.json")) as? [String: Any])
        let ours = Int8Layout.quantizationConfig(ignore: ["lm_head"], static: true)
        let a = try JSONSerialization.data(withJSONObject: ours, options: [.sortedKeys])
        let b = try JSONSerialization.data(withJSONObject: reference, options: [.sortedKeys])
        XCTAssertEqual(String(decoding: a, as: UTF8.self), String(decoding: b, as: UTF8.self))
    }

    /// Per-tensor weights with the MSE range, and the calibrated input parameters of each linear's site.
    func testStaticPassWritesPerTensorWeightsAndInputParameters() throws {
        let (out, report) = try writeStatic()
        let name = "model.layers.1.mlp.down_proj.weight", module = "model.layers.1.mlp.down_proj"
        XCTAssertEqual(out.info(name)?.dtype, .I8)
        XCTAssertEqual(out.info(name + "_scale")?.shape, [1])
        XCTAssertEqual(out.info(module + ".input_scale")?.shape, [1])
        XCTAssertEqual(out.info(module + ".input_zero_point")?.dtype, .I8)
        let original = try Checkpoint(path: Self.modelPath).floats(name)
        let alpha = StaticQuantizers.mseSymmetricAlpha(original)
        XCTAssertEqual(try out.floats(name + "_scale"), [alpha / 127.5])
        // The input range is the running min-max of the down_proj input over the calibration windows.
        let model = try TransformerModel.load(path: Self.modelPath)
        var observer = RangeObserver(kind: .minmax)
        for e in Self.calibration {
            let r = try model.forward(ModelInput(tokens: [e.ids.map(Int.init)]), options: ForwardOptions(capture: [.ffnActivation], captureLayers: [1]))
            observer.observe(try XCTUnwrap(r.captures[CaptureKey(layer: 1, point: .ffnActivation)]).values)
        }
        let p = try XCTUnwrap(observer.params)
        XCTAssertEqual(try out.floats(module + ".input_scale"), [p.scale])
        XCTAssertEqual(try out.tensor(module + ".input_zero_point").floats(), [p.zeroPoint - 128])
        let qc = try XCTUnwrap(out.config["quantization_config"] as? [String: Any])
        let group = try XCTUnwrap((qc["config_groups"] as? [String: Any])?["group_0"] as? [String: Any])
        XCTAssertEqual((group["input_activations"] as? [String: Any])?["dynamic"] as? Bool, false)
        // Both evaluations are reported; the full-site one quantizes more, so it moves the logits more here.
        let checkpoint = try XCTUnwrap(report.metrics["static_w8a8_logits_relative_error"])
        let full = try XCTUnwrap(report.metrics["full_w8a8_logits_relative_error"])
        XCTAssertGreaterThan(full, checkpoint)
        XCTAssertLessThan(full, 0.2)
        let store = try QuantizedTensorStore(out)
        XCTAssertFalse(store.names.contains(module + ".input_scale"), "static parameters are hidden behind the weight")
    }

    /// Our runtime (`StaticW8A8Linear` from the stored codes and parameters) runs the static checkpoint
    /// as the probe simulates it, and as transformers + compressed-tensors run the same folder.
    func testStaticCheckpointLogitsMatchTransformersCompressedTensors() throws {
        let (out, report) = try writeStatic()
        let fixture = try SafetensorsFile(path: Fixtures.path("quant/static_checkpoint_reference.safetensors"))
        let ids = try fixture.tensor("ids").floats().map { Int($0) }
        let expected = try fixture.tensor("static.logits").floats(), fp32 = try fixture.tensor("fp32.logits").floats()
        let model = try TransformerModel.loadCompressed(from: out)
        XCTAssertEqual(model.layers.flatMap(\.linears).filter { $0.layer is StaticW8A8Linear }.count, 35)
        let logits = try model.forward(ModelInput(tokens: [ids])).logits
        let ours = relativeError(expected, logits), quantization = relativeError(fp32, expected)
        print("static int8 logits: ours vs transformers \(ours), static W8A8 vs fp32 \(quantization)")
        XCTAssertLessThan(ours, quantization / 10, "ours vs transformers \(ours); W8A8 vs fp32 \(quantization)")
        XCTAssertGreaterThan(quantization, 0)
        XCTAssertNotNil(report.metrics["calibration_static_w8a8_perplexity"])
    }

    /// The report's checkpoint-scheme number is what the written checkpoint computes: the probe's
    /// perplexity on the calibration windows equals our runtime's on the loaded static checkpoint.
    func testCheckpointSchemeMetricIsWhatTheCheckpointComputes() throws {
        let (out, report) = try writeStatic()
        let model = try TransformerModel.loadCompressed(from: out)
        var nll = 0.0, count = 0
        for e in Self.calibration {
            let (n, c) = StaticW8A8Probe.nextTokenNLL(try model.forward(ModelInput(tokens: [e.ids.map(Int.init)])).logits, ids: e.ids)
            nll += n; count += c
        }
        // Fake quantization (probe) and int8 codes (runtime) sum in a different order, so an activation
        // can round to the neighbouring code now and then (the static grid is discontinuous): close, not equal.
        let probe = try XCTUnwrap(report.metrics["calibration_static_w8a8_perplexity"])
        let float = try XCTUnwrap(report.metrics["calibration_float_perplexity"]), runtime = exp(nll / Double(count))
        print("calibration perplexity: float \(float), probe \(probe), runtime on the checkpoint \(runtime)")
        XCTAssertEqual(runtime, probe, accuracy: probe * 2e-3)
        XCTAssertGreaterThan(abs(float - probe), 5 * abs(runtime - probe), "the quantization effect dwarfs the probe–runtime difference")
    }

    /// A gated model: the gate is not an int8 target, the static scheme calibrates through the gate,
    /// and the report measures what stock loaders compute instead (gates dropped).
    func testStaticInt8OnGatedModelSaysWhatStockLoadersCompute() throws {
        let model = EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("gated/llama_elementwise")))
        let windows = (0..<3).map { (k: Int) -> Example in Example(ids: (0..<12).map { (t: Int) -> Int32 in Int32((t * 7 + k * 5) % 40) }) }
        let report = try Int8Quantization(scheme: .static).apply(to: model, context: PassContext(calibration: windows))
        XCTAssertEqual(report.tensors.count, 14, "7 projections in each of 2 layers; the gates stay float")
        XCTAssertFalse(report.tensors.contains { $0.name.contains(".gate.") })
        XCTAssertGreaterThan(try XCTUnwrap(report.metrics["stock_loader_logits_relative_error"]), 0)
        XCTAssertTrue(report.notes.contains { $0.contains("drop the attention gates") }, "\(report.notes)")
        let qc = try XCTUnwrap(model.config["quantization_config"] as? [String: Any])
        XCTAssertEqual(qc["ignore"] as? [String], ["lm_head"], "the gate is no nn.Linear for compressed-tensors to skip")
    }

    func testEvaluationSamplesAreHeldOutAndValidated() throws {
        let model = EditableCheckpoint(source: try Checkpoint(path: Self.modelPath))
        let report = try Int8Quantization(scheme: .static).with { $0.evaluationSamples = 1 }
            .apply(to: model, context: PassContext(calibration: Self.calibration))
        XCTAssertEqual(report.metrics["calibration_windows"], 3)
        XCTAssertEqual(report.metrics["evaluation_windows"], 1)
        XCTAssertThrowsError(try Int8Quantization(scheme: .static).with { $0.evaluationSamples = 4 }
            .apply(to: EditableCheckpoint(source: try Checkpoint(path: Self.modelPath)), context: PassContext(calibration: Self.calibration))) {
            XCTAssertEqual(($0 as? PassError)?.path, "int8.evaluation_samples")
        }
        XCTAssertThrowsError(try Int8Quantization().with { $0.evaluationSamples = 2 }.validate(path: "passes[0]")) {
            XCTAssertEqual(($0 as? PassError)?.path, "passes[0].evaluation_samples")
        }
    }
}

extension Int8Quantization {
    func with(_ change: (inout Int8Quantization) -> Void) -> Int8Quantization { var c = self; change(&c); return c }
}
