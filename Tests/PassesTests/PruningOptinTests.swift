import XCTest
import Checkpoints
import Datasets
import Kernels
import Models
@testable import Passes
import TestSupport

/// OPTIN (ALGORITHMS.md §1): MAC bookkeeping, global selection, λ-balancing, and the batched /
/// rank-1 trajectory scorer against brute-force one-unit-at-a-time forwards with masks.
final class PruningOptinTests: XCTestCase {
    func testMACModelReproducesTheBERTBaseTestVector() {
        // ALGORITHMS.md §1.3: BERT-base, MNLI average dev length 39.05.
        let mac = OptinMACModel(hidden: 768, headDim: 64, seqLen: 39.05)
        XCTAssertEqual(mac.macHead, 7_872_729.92, accuracy: 1e-6)
        XCTAssertEqual(mac.macNeuron, 59_980.8, accuracy: 1e-9)
        let base = mac.baseMAC(layers: 12, heads: 12, neurons: 3072)
        XCTAssertEqual(base, 3_344_805_319.68, accuracy: 1e-4)
        XCTAssertEqual(0.6 * base, 2_006_883_191.81, accuracy: 0.005)
        XCTAssertEqual(mac.macs(heads: 144, neurons: 36_864), base, accuracy: 1e-4)
    }

    func testGlobalSelectionFollowsTheReferenceLoop() {
        // k=1: 22−10 = 12 → three neurons (3+2+1), total 11; k=2: 2 left → no neuron, total 6.
        let s = optinGlobalSelection(headImportance: [5, 1], neuronImportance: [3, 2, 1], macHead: 10, macNeuron: 4, capacity: 22)
        XCTAssertEqual(s, OptinSelection(keptHeads: 1, keptNeurons: 3, importance: 11))
        // Over budget: heads alone exceed the capacity. Default skips those k; the reference tries them.
        let strict = optinGlobalSelection(headImportance: [50, 40], neuronImportance: [1], macHead: 10, macNeuron: 4, capacity: 15)
        XCTAssertEqual(strict, OptinSelection(keptHeads: 1, keptNeurons: 1, importance: 51))
        let quirk = optinGlobalSelection(headImportance: [50, 40], neuronImportance: [1], macHead: 10, macNeuron: 4, capacity: 15,
                                         allowOverBudget: true)
        XCTAssertEqual(quirk, OptinSelection(keptHeads: 2, keptNeurons: 0, importance: 90))
    }

    func testLambdaBalancingTruncatesTheExponentAndReusesTheMeanScale() {
        // |md| > |kl|: s = 10^trunc(log10 1000 − log10 2 − log10 10) = 10^trunc(1.699) = 10.
        // Then |md| ≤ |kl|: kl × mean(remembered) = 5 × 10.
        let out = balanceTrajectoryTerms([TrajectoryTerms(md: 1000, kl: 2), TrajectoryTerms(md: 1, kl: 5)], lambda: 10)
        XCTAssertEqual(out[0], 1020, accuracy: 1e-9)
        XCTAssertEqual(out[1], 51, accuracy: 1e-9)
        // No scale remembered yet: factor 1.
        XCTAssertEqual(balanceTrajectoryTerms([TrajectoryTerms(md: 1, kl: 5)])[0], 6, accuracy: 1e-12)
    }

    func testMultipliersAndTheIndexWeightQuirk() {
        XCTAssertEqual(trajectoryMultiplier(layer: 0, index: 0, layers: 12, width: 12, classWeight: 0.5, indexWeights: false, indexTop: 10), 0.5)
        XCTAssertEqual(trajectoryMultiplier(layer: 11, index: 3, layers: 12, width: 12, classWeight: 1, indexWeights: false, indexTop: 100), 0.5)
        // geomspace(1, 10, 12) reversed: head 0 → 10, head 11 → 1.
        XCTAssertEqual(trajectoryMultiplier(layer: 0, index: 0, layers: 12, width: 12, classWeight: 0.5, indexWeights: true, indexTop: 10), 5, accuracy: 1e-12)
        XCTAssertEqual(trajectoryMultiplier(layer: 0, index: 11, layers: 12, width: 12, classWeight: 0.5, indexWeights: true, indexTop: 10), 0.5, accuracy: 1e-12)
    }

    // MARK: scorer against brute force

    /// MD + KL of one unit computed the slow way: a full masked forward per calibration segment.
    func bruteForceTerms(_ model: TransformerModel, segments: [ModelInput], unit: PrunableUnit) throws -> TrajectoryTerms {
        var heads = model.layers.map { [Float](repeating: 1, count: $0.heads) }
        var neurons = model.layers.map { [Float](repeating: 1, count: $0.ffnWidth) }
        if unit.kind == .head { heads[unit.layer][unit.index] = 0 } else { neurons[unit.layer][unit.index] = 0 }
        let layers = model.layers.count, c = model.config.hidden
        var ref = [[Float]](repeating: [], count: layers), pert = ref
        var refLogits: [Float] = [], pertLogits: [Float] = []
        for input in segments {
            let a = try model.forward(input, options: ForwardOptions(capture: [.ffnOutput]))
            let b = try model.forward(input, options: ForwardOptions(headMask: heads, neuronMask: neurons, capture: [.ffnOutput]))
            for k in 0..<layers {
                ref[k] += a.captures[CaptureKey(layer: k, point: .ffnOutput)]!.values
                pert[k] += b.captures[CaptureKey(layer: k, point: .ffnOutput)]!.values
            }
            refLogits += a.logits; pertLogits += b.logits
        }
        var md = 0.0
        let rows = Array(0..<(ref[0].count / c))
        for k in 0..<layers where k > unit.layer || (unit.layer == layers - 1 && k == unit.layer) {
            let d = ref[k].withUnsafeBufferPointer { ManifoldDistance(reference: $0.baseAddress!, rows: rows, width: c) }
            md += pert[k].withUnsafeBufferPointer { d.distance($0.baseAddress!) }
        }
        let width = refLogits.count / (model.config.isClassifier ? segments.reduce(0) { $0 + $1.batchSize } : rows.count)
        let lp = logSoftmaxRows(refLogits, rows: refLogits.count / width, vocab: width)
        let lq = logSoftmaxRows(pertLogits, rows: refLogits.count / width, vocab: width)
        var kl = 0.0
        for i in lp.indices { kl += exp(lp[i]) * (lp[i] - lq[i]) }
        return TrajectoryTerms(md: md, kl: max(0, 16 * kl))
    }

    func checkScorer(_ model: TransformerModel, segments: [ModelInput], file: StaticString = #filePath, line: UInt = #line) throws {
        let scorer = try TrajectoryScorer(model: model, segments: segments, sampleRows: 100_000, seed: 0)
        // Two workers: the flights of a wave run concurrently (the path scoring takes on the 2-core machine).
        let threads = Threads.count
        Threads.set(2)
        defer { Threads.set(threads) }
        let scored = try XCTUnwrap(scorer.score(neuronBatch: 5, progress: .silent))
        XCTAssertEqual(scored.units.count, model.layers.reduce(0) { $0 + $1.heads + $1.ffnWidth }, file: file, line: line)
        let picks = [0, 3, scored.units.count / 2, scored.units.count - 7, scored.units.count - 1]
        for i in picks {
            let expected = try bruteForceTerms(model, segments: segments, unit: scored.units[i])
            XCTAssertEqual(scored.terms[i].md, expected.md, accuracy: 1e-4 * expected.md + 1e-6, "\(scored.units[i]) md", file: file, line: line)
            XCTAssertEqual(scored.terms[i].kl, expected.kl, accuracy: 1e-3 * expected.kl + 1e-6, "\(scored.units[i]) kl", file: file, line: line)
        }
    }

    func testBatchedScorerEqualsOneUnitAtATimeOnBERT() throws {
        let model = try TransformerModel.load(path: Fixtures.path("models-reference/bert_classifier"))
        let sentences = [[2, 10, 11, 12, 3], [2, 20, 21, 3], [2, 30, 31, 32, 33, 34, 3]]
        // Padded batch (the reference's feature rows include padding) and one unpadded segment per sentence.
        try checkScorer(model, segments: [ModelInput(padding: sentences)])
        try checkScorer(model, segments: sentences.map { ModelInput(tokens: [$0]) })
    }

    func testBatchedScorerEqualsOneUnitAtATimeOnLlamaGQA() throws {
        let model = try TransformerModel.load(path: Fixtures.path("models-reference/llama_gqa"))
        try checkScorer(model, segments: [ModelInput(tokens: [[1, 5, 9, 13, 17, 21], [2, 6, 10, 14, 18, 22]])])
    }

    func testConcurrentFlightsGiveTheBitsOfOneWorker() throws {
        // Waves hold one flight per worker; each flight's arithmetic is the same with 1 or 2 workers.
        let model = try TransformerModel.load(path: Fixtures.path("models-reference/bert_classifier"))
        let segments = [[2, 10, 11, 12, 3], [2, 20, 21, 3], [2, 30, 31, 32, 33, 34, 3]].map { ModelInput(tokens: [$0]) }
        let threads = Threads.count
        defer { Threads.set(threads) }
        func terms(workers: Int) throws -> [TrajectoryTerms] {
            Threads.set(workers)
            let scorer = try TrajectoryScorer(model: model, segments: segments, sampleRows: 100_000, seed: 0)
            return try XCTUnwrap(scorer.score(neuronBatch: 7, progress: .silent)).terms
        }
        let one = try terms(workers: 1), two = try terms(workers: 2), three = try terms(workers: 3)
        XCTAssertEqual(one.count, model.layers.reduce(0) { $0 + $1.heads + $1.ffnWidth })
        XCTAssertEqual(two, one)
        XCTAssertEqual(three, one)
        XCTAssertEqual(Threads.count, 3, "the scorer restores the BLAS thread count")
    }

    func testScoringFLOPsCountEveryMatmulAsPyTorchDoes() throws {
        // Per-layer and head FLOPs from torch.utils.flop_counter (linears, QKᵀ and PV; eager attention).
        let fixture = try Fixtures.readJSON(try Fixtures.required("pruning/optin_flops_reference.json",
                                                                  regenerate: "tools/reference/optin_flops_reference.py")) as! [String: Any]
        let layerFLOPs = fixture["layer_flops"] as! [Double], headFLOPs = fixture["head_flops"] as! Double
        let lengths = (fixture["meta"] as! [String: Any])["segment_lengths"] as! [Int]
        let model = try TransformerModel.load(path: Fixtures.path("models-reference/bert_classifier"))
        let segments = lengths.map { ModelInput(tokens: [[Int](repeating: 2, count: $0)]) }
        let cost = try OptinScoringCost(model, segments: segments, sampleRows: 768, unresetHeadMask: false)
        XCTAssertEqual(layerFLOPs.count, 2)
        for j in 0..<2 { XCTAssertEqual(cost.layer(j), layerFLOPs[j], "layer \(j)") }
        XCTAssertEqual(cost.head, headFLOPs)
        // Per unit: heads of layer 0 run layers 0–1, heads of layer 1 and neurons of layer 0 run layer 1,
        // neurons of layer 1 none; each adds its Gram matrices (one: k = 1) and one head; plus the
        // unpruned forward and the two reference Grams. 16 rows, width 32.
        let gram = 2.0 * 16 * 16 * 32, l0 = layerFLOPs[0], l1 = layerFLOPs[1], h = headFLOPs
        let expected = (l0 + l1 + h + 2 * gram) + 4 * (l0 + l1 + gram + h) + 4 * (l1 + gram + h) + 48 * (l1 + gram + h) + 48 * (gram + h)
        XCTAssertEqual(cost.flops, expected)
    }

    // MARK: writing

    func testZeroedAndSlicedCheckpointsComputeTheMaskedFunction() throws {
        for name in ["bert_classifier", "llama_gqa"] {
            for layout in PrunedLayout.allCases {
                let store = EditableCheckpoint(source: try Checkpoint(path: Fixtures.path("models-reference/\(name)")))
                let original = try TransformerModel.load(from: store)
                var plan = PruningPlan(heads: original.headCounts, ffnWidths: original.ffnWidths)
                plan.keepHeads[0] = [true, false, false, true]
                plan.keepHeads[1] = [false, false, true, true]       // GQA: kv group 0 dropped whole in `sliced`
                for n in stride(from: 0, to: 48, by: 3) { plan.keepNeurons[0][n] = false }
                plan.keepNeurons[1] = (0..<48).map { $0 >= 40 }
                try plan.write(into: store, layout: layout)
                let pruned = try TransformerModel.load(from: store)
                let input = ModelInput(padding: [[2, 10, 11, 12, 3], [2, 20, 21, 3]])
                let expected = try original.forward(input, options: plan.forwardOptions).logits
                assertClose(try pruned.forward(input).logits, expected, atol: 2e-5, "\(name) \(layout)")
                if layout == .sliced {
                    XCTAssertEqual(pruned.ffnWidths, [32, 8], name)
                    XCTAssertEqual(pruned.headCounts, name == "bert_classifier" ? [2, 2] : [4, 2], name)
                    let whittle = store.config["whittle"] as? [String: Any]
                    XCTAssertEqual((whittle?["pruned_heads"] as? [String: [Int]])?["1"], [0, 1])
                }
            }
        }
    }

    func testValidationNamesTheKey() {
        XCTAssertThrowsError(try OptinPruning(flopsRatio: 0).validate(path: "passes[2]")) {
            XCTAssertEqual(($0 as? PassError)?.path, "passes[2].flops_ratio")
        }
        var o = OptinPruning(); o.matchHeads = 3
        XCTAssertThrowsError(try o.validate(path: "p")) { XCTAssertEqual(($0 as? PassError)?.path, "p.match_heads") }
        XCTAssertNil(try? JSONDecoder().decode(OptinPruning.self, from: Data(#"{"pass": "optin", "flops": 0.5}"#.utf8)))
        XCTAssertEqual(try JSONDecoder().decode(OptinPruning.self, from: Data(#"{"pass": "optin", "flops_ratio": 0.5, "exclude_padding": true}"#.utf8)).excludePadding, true)
    }
}

extension PruningOptinTests {
    func testPerLayerNormalizationEqualizesLayersButKeepsTheKindScale() {
        let imp: [PrunableUnit: Double] = [
            PrunableUnit(.head, layer: 0, index: 0): 2, PrunableUnit(.head, layer: 0, index: 1): 6,     // layer mean 4
            PrunableUnit(.head, layer: 1, index: 0): 20, PrunableUnit(.head, layer: 1, index: 1): 60,   // layer mean 40
            PrunableUnit(.neuron, layer: 0, index: 0): 1, PrunableUnit(.neuron, layer: 1, index: 0): 3]
        let n = OptinPruning.normalizedPerLayer(imp)
        // Heads: kind mean 22; layer 0 → 2/4·22 = 11, 6/4·22 = 33; layer 1 the same.
        XCTAssertEqual(n[PrunableUnit(.head, layer: 0, index: 0)]!, 11, accuracy: 1e-12)
        XCTAssertEqual(n[PrunableUnit(.head, layer: 1, index: 1)]!, 33, accuracy: 1e-12)
        // Neurons: one per layer → each becomes the kind mean 2.
        XCTAssertEqual(n[PrunableUnit(.neuron, layer: 0, index: 0)]!, 2, accuracy: 1e-12)
        XCTAssertEqual(n[PrunableUnit(.neuron, layer: 1, index: 0)]!, 2, accuracy: 1e-12)
    }
}
