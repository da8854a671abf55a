import Foundation
import Whittle

/// Evaluation I/O against memcpy bandwidth: reading a GLUE TSV, inflating a .txt.gz, deflating weights to
/// measure their compressed size, and the sliding-window perplexity of stories260K (tokens/s, per sgemm-free
/// forward). Inputs come from ../shared when present, else fixtures.
func runEvaluationBench() throws {
    let ceiling = memcpyBandwidth(bytes: 128 << 20)
    print(String(format: "memcpy ceiling: %.2f GB/s", ceiling))
    let root = FileManager.default.currentDirectoryPath
    func shared(_ p: String) -> String? {
        let path = root + "/../shared/" + p
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
    func rate(_ label: String, bytes: Int, _ body: () throws -> Void) rethrows {
        var best = Double.infinity
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let gbs = Double(bytes) / best / 1e9
        print(String(format: "%@: %.1f MB/s = %.4f of memcpy", label, gbs * 1000, gbs / ceiling))
    }
    let tsv = shared("data/sst2/train.tsv") ?? root + "/fixtures/data/sst2-dev-head.tsv"
    let tsvBytes = try FileManager.default.attributesOfItem(atPath: tsv)[.size] as! Int
    try rate("read TSV (\(URL(fileURLWithPath: tsv).lastPathComponent), \(tsvBytes / 1000) KB)", bytes: tsvBytes) {
        _ = try DataSource(data: tsv).load()
    }
    let gz = root + "/fixtures/data/wikitext2-test-head.txt.gz"
    try rate("inflate .txt.gz (20 KB text)", bytes: 20_000) { _ = try DataSource(data: gz).load() }
    let model = root + "/fixtures/models/stories260K"
    let modelBytes = try onDiskBytes(model)
    try rate("deflate weights for size (stories260K, \(modelBytes / 1000) KB)", bytes: modelBytes) { _ = try deflatedBytes(model) }

    let lm = try TransformerModel.load(path: model)
    let stream = try DataSource(data: root + "/fixtures/eval/stories260k_samples.tokens").tokenStream(encoder: nil)
    let msPerToken = try millisecondsPerUnit { try lm.perplexity(of: stream, seqLen: 256, file: "samples").count }
    print(String(format: "stories260K perplexity: %.3f ms/token (%.0f tokens/s)", msPerToken, 1000 / msPerToken))
}
