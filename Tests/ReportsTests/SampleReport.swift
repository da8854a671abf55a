import Evaluation
import Passes
import Reports

/// A report with every section filled, as a two-pass run on stories260K would produce it
/// (numbers are illustrative; the structure is what the writers must handle).
func sampleReport() -> Report {
    var outliersBefore = OutlierStats(), outliersAfter = OutlierStats()
    for layer in 0..<5 {
        for (j, point) in ["attentionOutput", "ffnOutput", "blockOutput"].enumerated() {
            let spike = Float(layer + 2 * j + 1) * 4
            outliersBefore.add(module: "layers.\(layer).\(point)", output: (0..<64).map { $0 == 7 ? spike : Float($0 % 5) - 2 })
            outliersAfter.add(module: "layers.\(layer).\(point)", output: (0..<64).map { $0 == 7 ? spike / 3 : Float($0 % 5) - 2 })
        }
    }
    var finercut = PassReport(kind: "finercut", summary: "Removed 3 of 10 sublayers (attention of layers 3 and 4, FFN of layer 4) by least change of the output distribution.",
                              metrics: ["removed_sublayers": 3, "js_divergence": 0.0123],
                              series: [.init(title: "JS divergence when each sublayer is removed", xLabel: "sublayer", yLabel: "JS divergence",
                                             labels: (0..<5).flatMap { ["\($0).attn", "\($0).ffn"] },
                                             values: [0.21, 0.35, 0.08, 0.19, 0.05, 0.12, 0.011, 0.09, 0.009, 0.014])])
    finercut.seconds = 4.2; finercut.peakRSSBytes = 38_000_000
    var nf4 = PassReport(kind: "nf4", summary: "4-bit NormalFloat, block 64, double quantization; lm_head kept in F32.",
                         metrics: ["bits_per_weight": 4.127],
                         tensors: (0..<5).map { .init(name: "model.layers.\($0).mlp.down_proj.weight", before: "F32 [64, 172]", after: "NF4 block 64 (+absmax)",
                                                       bitsPerWeight: 4.127, relativeError: 0.081 + 0.004 * Double($0)) },
                         series: [.init(title: "Relative reconstruction error per tensor", xLabel: "tensor", yLabel: "‖W − Ŵ‖ / ‖W‖",
                                        labels: (0..<5).map { "layers.\($0).mlp.down_proj" }, values: (0..<5).map { 0.081 + 0.004 * Double($0) })],
                         notes: ["Embeddings are tied to lm_head and stay F32."])
    nf4.seconds = 0.31; nf4.peakRSSBytes = 41_000_000
    let qat = PassReport(kind: "qat", summary: "Two-step quantization-aware training with teacher intervention, 200 steps.",
                         series: [.init(title: "Training loss", xLabel: "step", yLabel: "loss", labels: (1...20).map { "\($0 * 10)" },
                                        values: (1...20).map { 2.2 * exp(-Double($0) / 6) + 0.9 })])
    return Report(title: "stories260K: finercut + nf4",
                  comparisons: [
                    MetricComparison(name: "perplexity (stories260k_samples.tokens)", metric: "perplexity", original: 23.934, compressed: 26.71,
                                     higherIsBetter: false, count: 996),
                    MetricComparison(name: "accuracy (SST-2 dev)", metric: "accuracy", original: 0.8555, compressed: 0.8509,
                                     higherIsBetter: true, count: 872, unit: "percent"),
                    MetricComparison(name: "KL(original ‖ compressed)", metric: "kl_divergence", original: 0, compressed: 0.0412, higherIsBetter: false, count: 996),
                  ],
                  size: SizeComparison(originalBytes: 1_056_888, compressedBytes: 297_412, originalDeflatedBytes: 975_120,
                                       compressedDeflatedBytes: 262_300, originalParameters: 260_032, compressedParameters: 233_216),
                  passes: [finercut, nf4, qat], outliersBefore: outliersBefore, outliersAfter: outliersAfter,
                  provenance: Provenance(inputFingerprint: "1a2b3c4d5e6f7081", model: "fixtures/models/stories260K",
                                         recipe: #"{"version": 1, "passes": [{"pass": "finercut", "remove_ratio": 0.3}, {"pass": "nf4"}]}"#,
                                         versions: ["whittle": "0.1.0", "swift": "6.3"],
                                         machine: Machine(os: "Linux", cpu: "Example CPU", cores: 2, memoryBytes: 24_000_000_000),
                                         created: "2026-11-29T08:00:00Z"))
}

import Foundation
