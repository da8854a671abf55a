import Checkpoints
import Datasets
import Kernels
import Models
import Passes
import Tensors
import TestSupport
import Training
import XCTest

/// `clipped_softmax` and `gated_attention` end to end on tiny fixtures: conversion (the whittle
/// section, the gate tensors), training, and a written checkpoint that reloads into what was trained.
final class AttentionPassTests: XCTestCase {
    func store(_ name: String) throws -> EditableCheckpoint {
        let folder = Fixtures.path("training/\(name)")
        _ = try Fixtures.required(String(folder.dropFirst(Fixtures.path("").count)) + "/config.json", regenerate: "/root/venv/bin/python tools/reference/training_reference.py")
        return EditableCheckpoint(source: try Checkpoint(path: folder))
    }

    func decode<P: Pass>(_ type: P.Type, _ json: String) throws -> P { try JSONDecoder().decode(P.self, from: Data(json.utf8)) }

    let lm = (0..<16).map { i in Example(ids: (0..<8).map { Int32(($0 * 5 + i * 3) % 40) }) }
    let input = ModelInput(tokens: [[1, 5, 9, 3, 7, 2]])

    func testGatedAttentionConvertsTrainsAndReloads() throws {
        let model = try store("llama_gqa")
        let pass = try decode(GatedAttention.self, #"{"pass": "gated_attention", "pi_init": 0.25, "lr": 0.003, "steps": 12, "batch_size": 4, "warmup_steps": 2, "weight_decay": 0.1}"#)
        let report = try pass.apply(to: model, context: PassContext(training: lm, seed: 5))
        XCTAssertEqual(report.kind, "gated_attention")
        XCTAssertEqual(report.series.first?.values.count, 12, "loss curve")
        XCTAssertLessThan(report.metrics["final_loss"]!, report.metrics["first_loss"]! - 0.1, "training reduces the loss")
        XCTAssertEqual(report.metrics["gate_tensors"], 4, "weight and bias in each of 2 layers")
        XCTAssertGreaterThan(report.metrics["stock_loader_logits_relative_error"]!, 0, "a stock loader (gates dropped) computes something else")
        // The stock perplexity is the same tensors loaded without the whittle section (what transformers reads).
        let plain = EditableCheckpoint(source: model)
        plain.config["whittle"] = nil
        let stock = try TransformerModel.load(from: plain)
        XCTAssertTrue(stock.layers.allSatisfy { $0.attentionGate == nil })
        var nll = 0.0, count = 0
        for e in lm.prefix(8) {
            let (n, c) = StaticW8A8Probe.nextTokenNLL(try stock.forward(ModelInput(tokens: [e.ids.map(Int.init)])).logits, ids: e.ids)
            nll += n; count += c
        }
        XCTAssertEqual(try XCTUnwrap(report.metrics["stock_loader_perplexity"]), exp(nll / Double(count)), accuracy: 1e-6)
        XCTAssertNotEqual(report.metrics["whittle_runtime_perplexity"], report.metrics["stock_loader_perplexity"])
        XCTAssertTrue(report.notes.contains { $0.contains("next-token perplexity") }, "\(report.notes)")
        XCTAssertEqual(try model.tensor("model.layers.1.self_attn.gate.weight").shape, [4, 1, 4])
        XCTAssertEqual(try WhittleConfig.read(from: model.config).attentionGate,
                       AttentionGateSettings(type: .conditionalPerToken, network: .linear, initialProbability: 0.25, fineTuning: true))
        let bias = try model.tensor("model.layers.0.self_attn.gate.bias").floats()
        XCTAssertTrue(bias.allSatisfy { $0 != -1.0986123 }, "gate biases trained away from logit(π_init): \(bias)")
        let reloaded = try TransformerModel.load(from: model)
        XCTAssertNotNil(reloaded.layers[0].attentionGate)
        let fresh = try TransformerModel.load(from: model.source)
        XCTAssertNotEqual(try reloaded.forward(input).logits, try fresh.forward(input).logits)
    }

    /// Fine-tuning mode with zero-std gate weights: π = π_init, ×1/π_init = 1, so the converted
    /// model computes exactly what the original did (§3.2).
    func testFineTuningModeStartsUnchanged() throws {
        let model = try store("llama_gqa")
        let before = try TransformerModel.load(from: model).forward(input).logits
        var pass = GatedAttention()
        pass.gateInitStd = 0
        let added = try pass.convert(model, seed: 1)
        XCTAssertEqual(added.count, 4)
        let converted = try TransformerModel.load(from: model)
        XCTAssertNotNil(converted.layers[1].attentionGate)
        assertClose(try converted.forward(input).logits, before, atol: 1e-5, "fine-tuning init leaves the function unchanged")
        XCTAssertThrowsError(try pass.convert(model, seed: 1)) { XCTAssertTrue("\($0)".contains("already has gated attention"), "\($0)") }
    }

    func testGatedAttentionMLPOnGPT2() throws {
        let model = try store("gpt2")
        let pass = try decode(GatedAttention.self, #"{"pass": "gated_attention", "gate_network": "mlp", "fine_tuning": false, "lr": 0.002, "steps": 3, "batch_size": 4}"#)
        _ = try pass.apply(to: model, context: PassContext(training: lm))
        XCTAssertEqual(try model.tensor("transformer.h.0.attn.gate.fc1.weight").shape, [4, 1, 4])
        XCTAssertEqual(try model.tensor("transformer.h.0.attn.gate.fc2.bias").shape, [4, 1])
        XCTAssertNotNil(try TransformerModel.load(from: model).layers[1].attentionGate)
    }

    func testClippedSoftmaxUsesTrainingLengthAsTMax() throws {
        let model = try store("llama_gqa")
        let pass = try decode(ClippedSoftmax.self, #"{"pass": "clipped_softmax", "alpha": 2, "lr": 0.003, "steps": 4, "batch_size": 4}"#)
        let report = try pass.apply(to: model, context: PassContext(training: lm))
        XCTAssertEqual(report.kind, "clipped_softmax")
        XCTAssertEqual(report.metrics["gamma"], -0.25, "γ = −α / T_max with T_max = 8 (the training length)")
        let w = try WhittleConfig.read(from: model.config)
        XCTAssertEqual(w.attention?.alpha, 2)
        XCTAssertEqual(w.attention?.maxSeqLength, 8)
        XCTAssertEqual(try TransformerModel.load(from: model).layers[0].structure.attention, .clippedSoftmax(gamma: -0.25, zeta: 1))
        XCTAssertEqual(report.series.first?.values.count, 4)
        XCTAssertGreaterThan(report.metrics["stock_loader_logits_relative_error"]!, 0, "plain softmax differs")
    }

    func testKeysAndErrors() throws {
        XCTAssertThrowsError(try decode(GatedAttention.self, #"{"pass": "gated_attention", "pi": 0.3}"#)) {
            XCTAssertTrue("\($0)".contains("unknown key 'pi'"), "\($0)")
        }
        XCTAssertThrowsError(try decode(ClippedSoftmax.self, #"{"pass": "clipped_softmax", "beta": 1}"#))
        let g = try decode(GatedAttention.self, #"{"pass": "gated_attention", "gate_type": "conditional_per_head", "steps": 7, "max_grad_norm": null}"#)
        XCTAssertEqual(g.gateType, .conditionalPerHead)
        XCTAssertEqual(g.training.steps, 7)
        XCTAssertNil(g.training.maxGradNorm)
        XCTAssertEqual(try JSONDecoder().decode(GatedAttention.self, from: JSONEncoder().encode(g)), g, "keys round trip")
        XCTAssertThrowsError(try decode(GatedAttention.self, #"{"pass": "gated_attention", "pi_init": 1.5}"#).validate(path: "passes[0]")) {
            XCTAssertEqual($0 as? PassError, PassError("passes[0].pi_init", "init (π_init) must be in (0, 1), got 1.5"))
        }
        XCTAssertThrowsError(try decode(ClippedSoftmax.self, #"{"pass": "clipped_softmax", "lr": 0}"#).validate(path: "passes[0]")) {
            XCTAssertEqual(($0 as? PassError)?.path, "passes[0].lr")
        }
        XCTAssertThrowsError(try GatedAttention().apply(to: try store("llama_gqa"), context: PassContext())) {
            XCTAssertEqual($0 as? PassError, PassError("gated_attention", "needs training examples: add a \"training\" data section to the recipe"))
        }
        XCTAssertTrue(PassRegistry.kinds.contains("gated_attention") && PassRegistry.kinds.contains("clipped_softmax"))
    }

    /// `"init": "scratch"` with a config: a fresh llama of the overridden shape (transformers' init:
    /// matrices N(0, 0.02²), norms 1), then the pass converts and trains it.
    func testScratchInitWithConfigBuildsAFreshModel() throws {
        let model = try store("llama_gqa")
        let original = try model.floats("model.embed_tokens.weight")
        let pass = try decode(GatedAttention.self, #"{"pass": "gated_attention", "init": "scratch", "config": {"num_hidden_layers": 1, "intermediate_size": 24}, "pi_init": 0.25, "fine_tuning": false, "lr": 1e-9, "steps": 1, "batch_size": 4}"#)
        let again = try JSONDecoder().decode(GatedAttention.self, from: try JSONEncoder().encode(pass))
        XCTAssertEqual(again, pass, "init and config round-trip")
        let report = try pass.apply(to: model, context: PassContext(training: lm, seed: 3))
        XCTAssertEqual(model.config["num_hidden_layers"] as? Int, 1)
        XCTAssertFalse(model.names.contains { $0.hasPrefix("model.layers.1.") })
        XCTAssertEqual(model.spec("model.layers.0.mlp.down_proj.weight")?.shape.last, 24)
        XCTAssertEqual(try TransformerModel.load(from: model).layers.count, 1)
        let w = try model.floats("model.layers.0.mlp.up_proj.weight")
        let mean = w.reduce(0, +) / Float(w.count), std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(w.count)).squareRoot()
        XCTAssertEqual(std, 0.02, accuracy: 0.003, "N(0, 0.02²)")
        XCTAssertEqual(mean, 0, accuracy: 0.003)
        XCTAssertTrue(try model.floats("model.layers.0.input_layernorm.weight").allSatisfy { abs($0 - 1) < 1e-6 })
        XCTAssertNotEqual(try model.floats("model.embed_tokens.weight").prefix(8), original.prefix(8))
        XCTAssertNotNil(report.metrics["scratch_init_tensors"])
        XCTAssertEqual(try model.tensor("model.layers.0.self_attn.gate.weight").shape, [4, 1, 4], "then converted")
    }

    func testScratchInitOptionsAreChecked() throws {
        XCTAssertThrowsError(try decode(ClippedSoftmax.self, #"{"pass": "clipped_softmax", "config": {"num_hidden_layers": 1}}"#).validate(path: "passes[0]")) {
            XCTAssertEqual(($0 as? PassError)?.path, "passes[0].config")
        }
        XCTAssertThrowsError(try decode(ClippedSoftmax.self, #"{"pass": "clipped_softmax", "init": "scratch", "config": {"vocab": 3}}"#).validate(path: "passes[0]")) {
            XCTAssertEqual(($0 as? PassError)?.path, "passes[0].config.vocab")
        }
        XCTAssertThrowsError(try decode(ClippedSoftmax.self, #"{"pass": "clipped_softmax", "init": "scratch", "config": {"num_hidden_layers": 1.5}}"#).validate(path: "passes[0]")) {
            XCTAssertEqual(($0 as? PassError)?.path, "passes[0].config.num_hidden_layers")
        }
        XCTAssertThrowsError(try decode(ClippedSoftmax.self, #"{"pass": "clipped_softmax", "init": "random"}"#))
        // scratch alone re-initialises every tensor in place, any family
        let model = try store("llama_gqa")
        let before = try model.floats("model.layers.1.self_attn.o_proj.weight")
        _ = try decode(ClippedSoftmax.self, #"{"pass": "clipped_softmax", "init": "scratch", "lr": 1e-9, "steps": 1, "batch_size": 4}"#)
            .apply(to: model, context: PassContext(training: lm))
        let after = try model.floats("model.layers.1.self_attn.o_proj.weight")
        XCTAssertEqual(after.count, before.count)
        XCTAssertNotEqual(after, before)
    }

    /// The static W8A8 probe's perplexities: the NLL by hand, and W8A8 ≥ float-ish on a real model.
    func testStaticProbePerplexity() throws {
        // logits [3, 2]: targets ids[1] = 1, ids[2] = 0 (the last position predicts nothing).
        let (nll, n) = StaticW8A8Probe.nextTokenNLL([0, 0, 2, 0, 9, 9], ids: [0, 1, 0])
        XCTAssertEqual(n, 2)
        XCTAssertEqual(nll, log(2) + (log(exp(2) + 1) - 2), accuracy: 1e-9)
        let model = try TransformerModel.load(path: Fixtures.path("models/shakespeare-llama"))
        let windows = (0..<2).map { i in Example(ids: (0..<32).map { Int32(($0 * 37 + i * 11) % 1000) }) }
        let r = try StaticW8A8Probe(observer: .minmax).run(model: model, calibration: windows)
        let f = try XCTUnwrap(r.floatPerplexity), q = try XCTUnwrap(r.quantizedPerplexity)
        XCTAssertTrue(f > 1 && q > 1 && abs(q - f) / f < 0.5, "float \(f), W8A8 \(q)")
    }
}
