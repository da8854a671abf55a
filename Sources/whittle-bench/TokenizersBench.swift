import Foundation
import Whittle

/// Encode throughput on Tiny Shakespeare (one encoding per line, special tokens as configured) against
/// the Python `tokenizers` library on the same lines and thread count (`tools/tokenizers_bench.py`).
func runTokenizersBench() throws {
    let shared = ProcessInfo.processInfo.environment["WHITTLE_SHARED"] ?? "../shared"
    let textFile = shared + "/data/tinyshakespeare/input.txt"
    guard let text = try? String(contentsOfFile: textFile, encoding: .utf8) else {
        print("skipped: \(textFile) absent"); return
    }
    let lines = text.components(separatedBy: "\n")
    let candidates = [("smollm2 byte-level BPE", shared + "/tokenizers/smollm2-tokenizer.json"),
                      ("minilm WordPiece", "fixtures/tokenizers/minilm/tokenizer.json"),
                      ("llama3-style BPE", "fixtures/tokenizers/llama3-bpe.tokenizer.json"),
                      ("llama2-style BPE", "fixtures/tokenizers/llama2-bpe.tokenizer.json")]
    let python = ProcessInfo.processInfo.environment["WHITTLE_PYTHON"] ?? "/root/venv/bin/python"
    print("Tiny Shakespeare: \(lines.count) lines, \(text.utf8.count) bytes")
    for (name, path) in candidates where FileManager.default.fileExists(atPath: path) {
        let tok = try Tokenizer(jsonFile: path)
        tok.truncation = nil
        tok.padding = nil
        for threads in [1, 2] {
            var best = Double.infinity
            var count = 0
            for _ in 0..<5 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let encs = tok.encodeBatch(lines, threads: threads)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                count = encs.reduce(0) { $0 + $1.ids.count }
            }
            var line = String(format: "%@, %d thread%@: %.2f M tokens/s (%.2f MB/s)", name, threads, threads == 1 ? "" : "s",
                              Double(count) / best / 1e6, Double(text.utf8.count) / best / 1e6)
            if let peer = pythonTokenizersSeconds(python: python, tokenizer: path, textFile: textFile, threads: threads) {
                line += String(format: "; tokenizers (Python) %.2f M tokens/s; ratio %.2f×%@",
                               Double(peer.tokens) / peer.seconds / 1e6, peer.seconds / best,
                               peer.tokens == count ? "" : " (token counts differ: \(peer.tokens) vs \(count))")
            }
            print(line)
        }
    }
}

/// Runs tools/tokenizers_bench.py; nil when Python or the script is unavailable.
private func pythonTokenizersSeconds(python: String, tokenizer: String, textFile: String, threads: Int) -> (tokens: Int, seconds: Double)? {
    let script = "tools/tokenizers_bench.py"
    guard FileManager.default.isExecutableFile(atPath: python), FileManager.default.fileExists(atPath: script) else { return nil }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = [script, tokenizer, textFile, String(threads)]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0,
          let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let tokens = obj["tokens"] as? Int, let seconds = obj["seconds"] as? Double else { return nil }
    return (tokens, seconds)
}
