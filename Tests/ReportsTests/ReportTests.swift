import CZlib
import Foundation
import TestSupport
import XCTest
@testable import Reports

final class ReportTests: XCTestCase {
    func testComparisonRowsComputeDeltaRelativeChangeAndDirection() {
        let ppl = MetricComparison(name: "ppl", metric: "perplexity", original: 20, compressed: 25, higherIsBetter: false)
        XCTAssertEqual(ppl.delta, 5); XCTAssertEqual(ppl.relativeChange, 0.25); XCTAssertEqual(ppl.improved, false)
        let acc = MetricComparison(name: "acc", metric: "accuracy", original: 0.8, compressed: 0.82, higherIsBetter: true)
        XCTAssertEqual(acc.improved, true); XCTAssertEqual(acc.relativeChange!, 0.025, accuracy: 1e-12)
        let kl = MetricComparison(name: "kl", metric: "kl", original: 0, compressed: 0.1, higherIsBetter: false)
        XCTAssertNil(kl.relativeChange); XCTAssertEqual(kl.delta, 0.1)
    }

    /// Bytes, deflated bytes and parameters of two different checkpoints (stories260K and the NF4 export
    /// bitsandbytes + transformers wrote), against os.path.getsize, Python's zlib and the safetensors
    /// library (fixtures/eval/sizes_reference.json from tools/reference/sizes_reference.py).
    func testSizeIsMeasuredFromRealCheckpoints() throws {
        let ref = (try Fixtures.readJSON(try Fixtures.required("eval/sizes_reference.json", regenerate: "tools/reference/sizes_reference.py"))
                   as! [String: Any])["checkpoints"] as! [String: [String: Double]]
        let original = ref["models/stories260K"]!.mapValues { Int($0) }, nf4 = ref["quant/stories260K-bnb-nf4"]!.mapValues { Int($0) }
        let size = try SizeComparison.measure(original: Fixtures.path("models/stories260K"),
                                              compressed: Fixtures.path("quant/stories260K-bnb-nf4"))
        XCTAssertEqual(size.originalParameters, 260_032)
        XCTAssertEqual(size.originalParameters, original["parameters"]); XCTAssertEqual(size.compressedParameters, nf4["parameters"])
        XCTAssertEqual(size.originalBytes, original["bytes"]); XCTAssertEqual(size.compressedBytes, nf4["bytes"])
        XCTAssertEqual(size.originalDeflatedBytes, original["deflated_bytes"]); XCTAssertEqual(size.compressedDeflatedBytes, nf4["deflated_bytes"])
        XCTAssertEqual(size.ratio, Double(original["bytes"]!) / Double(nf4["bytes"]!), accuracy: 1e-12)
        let rows = size.comparisons
        XCTAssertEqual(rows.map(\.name), ["size on disk", "size after zlib deflate", "parameters", "parameters computing", "MACs per token"])
        XCTAssertEqual(rows[0].delta, Double(nf4["bytes"]! - original["bytes"]!))
    }

    /// A pruned model shows what pruning bought: stored parameters, parameters and MACs per token that still
    /// compute (FinerCut's skipped sublayers; OPTIN's zeroed heads and neurons), against a Python count
    /// from config.json and the tensor shapes (fixtures/eval/sizes_reference.json).
    func testPrunedCheckpointsReportWhatStillComputes() throws {
        let ref = (try Fixtures.readJSON(try Fixtures.required("eval/sizes_reference.json", regenerate: "tools/reference/sizes_reference.py"))
                   as! [String: Any])["checkpoints"] as! [String: [String: Double]]
        for (original, pruned) in [("models/stories260K", "pruning/stories260K-finercut4-zeroed"),
                                   ("models-reference/bert_classifier", "pruning/bert-optin50-zeroed"),
                                   ("models/stories260K", "quant/stories260K-bnb-nf4")] {
            let size = try SizeComparison.measure(original: Fixtures.path(original), compressed: Fixtures.path(pruned), deflate: false)
            let a = ref[original]!, b = ref[pruned]!
            XCTAssertEqual(size.compressedParameters, Int(b["parameters"]!), pruned)
            XCTAssertEqual(size.originalComputingParameters, Int(a["computing_parameters"]!), original)
            XCTAssertEqual(size.compressedComputingParameters, Int(b["computing_parameters"]!), pruned)
            XCTAssertEqual(size.originalMACsPerToken ?? 0, a["macs_per_token"]!, accuracy: 1e-6, original)
            XCTAssertEqual(size.compressedMACsPerToken ?? 0, b["macs_per_token"]!, accuracy: 1e-6, pruned)
            XCTAssertEqual(size.comparisons.map(\.name), ["size on disk", "parameters", "parameters computing", "MACs per token"])
        }
    }

    func testTerminalTableIsAlignedWithUnits() {
        let text = sampleReport().comparisonTable()
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "metric                                   original  compressed      delta  relative")
        XCTAssertEqual(lines[2], "perplexity (stories260k_samples.tokens)     23.93       26.71     +2.776   +11.60%")
        XCTAssertEqual(lines[3], "accuracy (SST-2 dev)                       85.55%      85.09%   −0.46 pp    −0.54%")
        XCTAssertEqual(lines[5], "size on disk                              1.06 MB    297.4 KB  −759.5 KB   −71.86%")
        XCTAssertEqual(lines[7], "parameters                                260,032     233,216    −26,816   −10.31%")
        XCTAssertEqual(Set(lines.map(\.count)).count, 1, "every line has the same width")
    }

    func testJSONRoundTripsAndRefusesUnknownSchema() throws {
        let report = sampleReport()
        let data = try JSONEncoder().encode(report)
        XCTAssertEqual(try Report.decode(data), report)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        XCTAssertEqual(object["schemaVersion"] as? Int, 1)
        XCTAssertEqual((object["comparisons"] as! [[String: Any]])[0]["relativeChange"] as! Double, (26.71 - 23.934) / 23.934, accuracy: 1e-12)
        var future = object; future["schemaVersion"] = 2
        XCTAssertThrowsError(try Report.decode(try JSONSerialization.data(withJSONObject: future))) {
            XCTAssertEqual($0 as? ReportError, .unsupportedSchema(found: 2, supported: 1))
        }
    }

    func testChartsCoverSizePassSeriesAndKurtosis() {
        let charts = sampleReport().charts()
        XCTAssertEqual(charts.map(\.id), ["size", "pass1-1", "pass2-1", "pass3-1", "kurtosis"])
        XCTAssertEqual(charts.map(\.kind), [.bar, .bar, .bar, .line, .bar])
        XCTAssertEqual(charts[4].labels.count, 15); XCTAssertEqual(charts[4].series.map(\.name), ["original", "compressed"])
        XCTAssertEqual(charts[0].yTicks().first, 0)
        XCTAssertEqual(shortLabel("model.layers.3.self_attn.k_proj.weight"), "L3.self_attn.k_proj")
        XCTAssertEqual(shortLabel("model.layers.12.mlp.down_proj_extra_long.weight"), "…down_proj_extra_long")
        XCTAssertEqual(shortLabel("on disk"), "on disk")
        XCTAssertEqual(niceStep(0.23), 0.5); XCTAssertEqual(niceStep(1.0), 1); XCTAssertEqual(niceStep(170), 200)
    }

    func testMarkdownAndHTMLHoldEverySection() {
        let report = sampleReport()
        let md = report.markdown()
        for needle in ["# stories260K: finercut + nf4", "| perplexity (stories260k_samples.tokens) (n = 996) | 23.93 | 26.71 | +2.776 | +11.60% |",
                       "## Pass 2: nf4", "![Model size before and after](charts/size.png)", "| model.layers.0.mlp.down_proj.weight | F32 [64, 172] |",
                       "time 4.2 s · peak memory 38.00 MB", "## Outliers", "- input fingerprint: `1a2b3c4d5e6f7081`", "3.55× smaller"] {
            XCTAssertTrue(md.contains(needle), "report.md lacks: \(needle)")
        }
        let html = report.html()
        XCTAssertEqual(html.components(separatedBy: "<svg ").count - 1, 5)
        XCTAssertFalse(html.contains("src=\"http"), "self-contained: no external resources")
        XCTAssertFalse(html.contains("<script"))
        XCTAssertTrue(html.contains("<td class=\"n worse\" title=\"lower is better\">+2.776</td>"))
        XCTAssertTrue(html.contains("<td class=\"n better\" title=\"lower is better\">−759.5 KB</td>"))
        XCTAssertTrue(html.contains("KL(original ‖ compressed)"))
    }

    func testPNGIsAValidImageOfTheRequestedSize() throws {
        let chart = sampleReport().charts()[0]
        let png = chart.png(width: 360, scale: 1)
        let expectedHeight = Int(ChartLayout(chart: chart, width: 360).height)
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // Walk the chunks, checking each CRC; inflate IDAT and check the row count and filter bytes.
        var at = 8, idat: [UInt8] = [], types: [String] = []
        var width = 0, height = 0
        while at < png.count {
            let length = Int(be32(png, at))
            let body = Array(png[(at + 4)..<(at + 8 + length)])
            let crc = be32(png, at + 8 + length)
            XCTAssertEqual(UInt32(crc32(0, body, UInt32(body.count))), crc)
            let type = String(decoding: body.prefix(4), as: UTF8.self)
            types.append(type)
            if type == "IHDR" { width = Int(be32(body, 4)); height = Int(be32(body, 8)) }
            if type == "IDAT" { idat += body.dropFirst(4) }
            at += 12 + length
        }
        XCTAssertEqual(types, ["IHDR", "IDAT", "IEND"]); XCTAssertEqual(width, 360); XCTAssertEqual(height, expectedHeight)
        var raw = [UInt8](repeating: 0, count: (360 * 3 + 1) * expectedHeight)
        var rawLength = UInt(raw.count)
        XCTAssertEqual(uncompress(&raw, &rawLength, idat, UInt(idat.count)), Z_OK)
        XCTAssertEqual(Int(rawLength), raw.count)
        XCTAssertTrue(stride(from: 0, to: raw.count, by: 360 * 3 + 1).allSatisfy { raw[$0] == 0 })
        // Both series colours are drawn.
        let rowBytes = 360 * 3 + 1
        var colours = Set<[UInt8]>()
        for row in 0..<expectedHeight {
            for x in 0..<360 {
                let i: Int = row * rowBytes + 1 + 3 * x
                colours.insert([raw[i], raw[i + 1], raw[i + 2]])
            }
        }
        func has(_ hex: String) -> Bool { let c = RGB(hex: hex); return colours.contains([c.r, c.g, c.b]) }
        XCTAssertTrue(has(chartColors[0])); XCTAssertTrue(has(chartColors[1]))
    }

    /// Writes the sample report to WHITTLE_REPORT_OUT (default: a temporary folder); `make report-screenshot`
    /// renders that folder's report.html in headless Chromium.
    func testWriterWritesJSONMarkdownHTMLAndCharts() throws {
        let folder = ProcessInfo.processInfo.environment["WHITTLE_REPORT_OUT"] ?? NSTemporaryDirectory() + "whittle-report-\(UUID().uuidString)"
        let written = try ReportWriter.write(sampleReport(), to: folder)
        XCTAssertEqual(written.map { ($0 as NSString).lastPathComponent },
                       ["report.json", "report.md", "report.html", "size.png", "pass1-1.png", "pass2-1.png", "pass3-1.png", "kurtosis.png"])
        XCTAssertEqual(try Report.decode(Data(contentsOf: URL(fileURLWithPath: folder + "/report.json"))), sampleReport())
    }
}

func be32(_ b: [UInt8], _ at: Int) -> UInt32 {
    var v: UInt32 = 0
    for i in 0..<4 { v = v << 8 | UInt32(b[at + i]) }
    return v
}
