import Foundation
import Tensors
import TestSupport
import XCTest
@testable import Evaluation

final class MetricTests: XCTestCase {
    var ref: [String: Any] = [:]
    override func setUpWithError() throws { ref = try Fixtures.readJSON(Fixtures.path("eval/metrics_reference.json")) as! [String: Any] }

    func testClassificationMetricsMatchTheirDefinitions() {
        let c = ref["classification"] as! [String: Any]
        let y = c["labels"] as! [Int], p = c["predictions"] as! [Int]
        XCTAssertEqual(accuracy(predictions: p, labels: y), c["accuracy"] as! Double, accuracy: 1e-12)
        XCTAssertEqual(f1Score(predictions: p, labels: y), c["f1"] as! Double, accuracy: 1e-12)
        XCTAssertEqual(matthewsCorrelation(predictions: p, labels: y), c["mcc"] as! Double, accuracy: 1e-12)
        XCTAssertEqual(matthewsCorrelation(predictions: [0, 0, 0], labels: [0, 1, 0]), 0)
    }

    func testCorrelationsMatchNumpy() {
        let c = ref["correlation"] as! [String: Any]
        let x = c["x"] as! [Double], y = c["y"] as! [Double], yTies = c["y_ties"] as! [Double]
        XCTAssertEqual(pearsonCorrelation(x, y), c["pearson"] as! Double, accuracy: 1e-12)
        XCTAssertEqual(spearmanCorrelation(x, yTies), c["spearman_x_yties"] as! Double, accuracy: 1e-12)
        XCTAssertEqual(averageRanks([3, 1, 3, 2]), [3.5, 1, 3.5, 2])
    }

    func testKLDivergenceMatchesTorch() {
        let k = ref["kl"] as! [String: Any]
        let p = (k["original_logits"] as! [[Double]]).flatMap { $0.map(Float.init) }
        let q = (k["compressed_logits"] as! [[Double]]).flatMap { $0.map(Float.init) }
        XCTAssertEqual(meanKLDivergence(original: p, compressed: q, vocab: 32), k["mean_kl"] as! Double, accuracy: 1e-5)
        XCTAssertEqual(meanKLDivergence(original: p, compressed: p, vocab: 32), 0, accuracy: 1e-12)
    }

    func testKurtosisAndInfinityNormMatchTheQuantizableTransformersCode() {
        let o = ref["outliers"] as! [String: Any]
        let samples = (o["activations"] as! [[[Double]]]).map { $0.flatMap { $0.map(Float.init) } }
        let expectedK = o["kurtosis_per_sample"] as! [Double], expectedInf = o["inf_norm_per_sample"] as! [Double]
        var stats = OutlierStats()
        for (i, s) in samples.enumerated() {
            XCTAssertEqual(kurtosis(s), expectedK[i], accuracy: 1e-4 * expectedK[i])
            XCTAssertEqual(infinityNorm(s), expectedInf[i], accuracy: 1e-5)
            stats.add(module: "layers.0.mlp", output: s)
        }
        stats.add(module: "layers.1.mlp", output: [1, -1, 1, -1])
        XCTAssertEqual(stats.modules[0].kurtosis, o["mean_kurtosis"] as! Double, accuracy: 1e-4)
        XCTAssertEqual(stats.modules[0].infinityNorm, o["mean_inf_norm"] as! Double, accuracy: 1e-5)
        XCTAssertEqual(stats.modules[0].samples, 3)
        XCTAssertEqual(stats.maxInfinityNorm, o["mean_inf_norm"] as! Double, accuracy: 1e-5)
        // Gaussian-like data has kurtosis near 3: a check of the non-excess convention.
        var g = SeededGenerator(seed: 1)
        let gaussian = (0..<20000).map { _ -> Float in
            let u = Float(g.next() >> 40) / Float(1 << 24) + 1e-7, v = Float(g.next() >> 40) / Float(1 << 24)
            return sqrt(-2 * log(u)) * cos(2 * .pi * v)
        }
        XCTAssertEqual(kurtosis(gaussian), 3, accuracy: 0.15)
    }

    func testExactMatchNormalizesWhitespaceOnly() {
        XCTAssertEqual(exactMatch(predictions: [" ( 10.0 * 45.0 )", "(3 + 4)", "x"], references: ["( 10.0  * 45.0 )", "( 3 + 4 )", "X"]), 1.0 / 3)
    }

    func testGreedyGenerationStopsAtEOS() {
        // A "model" that predicts previous+1 and ends after 5.
        let out = greedyGenerate(prompt: [1, 2], maxNewTokens: 10, eos: 9) { ids in
            var logits = [Float](repeating: 0, count: 10)
            logits[ids.last! >= 5 ? 9 : Int(ids.last!) + 1] = 1
            return logits
        }
        XCTAssertEqual(out, [3, 4, 5])
    }

    /// Bytes and deflated bytes against os.path.getsize and Python's zlib at level 6
    /// (fixtures/eval/sizes_reference.json); peak memory against the kernel's VmHWM read around it.
    func testSizesOfARealCheckpoint() throws {
        let ref = (try Fixtures.readJSON(try Fixtures.required("eval/sizes_reference.json", regenerate: "tools/reference/sizes_reference.py"))
                   as! [String: Any])["checkpoints"] as! [String: [String: Double]]
        for name in ["models/stories260K", "quant/stories260K-bnb-nf4"] {
            XCTAssertEqual(try onDiskBytes(Fixtures.path(name)), Int(ref[name]!["bytes"]!), name)
            XCTAssertEqual(try deflatedBytes(Fixtures.path(name)), Int(ref[name]!["deflated_bytes"]!), name)
        }
        func vmHWM() throws -> Int {
            let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
            let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
            return try XCTUnwrap(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])) * 1024
        }
        // The high-water mark only grows: the kernel's value read before and after brackets ours.
        let before = try vmHWM(), peak = try XCTUnwrap(peakRSSBytes()), after = try vmHWM()
        XCTAssertLessThanOrEqual(before, peak); XCTAssertLessThanOrEqual(peak, after)
    }
}
