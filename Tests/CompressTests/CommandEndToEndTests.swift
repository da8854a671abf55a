import Foundation
import TestSupport
import Whittle
import XCTest

/// The paths users take, through the built `compress` binary on the committed fixtures, against
/// outside references: transformers' perplexity and logits, the tokenizers library's ids.
final class CommandEndToEndTests: XCTestCase {
    func temporary(_ name: String) -> String { NSTemporaryDirectory() + "whittle-e2e-\(getpid())-\(name)" }

    func testEvalPrintsTransformersPerplexity() throws {
        let ref = try Fixtures.readJSON(try Fixtures.required("eval/stories260k_perplexity.json", regenerate: "tools/reference/eval_reference.py")) as! [String: Any]
        let c = (ref["cases"] as! [[String: Any]]).first { $0["seq_len"] as! Int == 128 && $0["stride"] as! Int == 128 && $0["max_tokens"] is NSNull }!
        let r = try BuiltBinary.run(["eval", "--model", "fixtures/models/stories260K", "--data", "fixtures/eval/stories260k_samples.tokens", "--seq-len", "128"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // "perplexity: 257.061 over 1016 tokens (0.2 s)"
        let words = r.stdout.split(separator: " ")
        XCTAssertEqual(words.first, "perplexity:")
        let value = try XCTUnwrap(Double(words[1])), count = try XCTUnwrap(Int(words[3]))
        XCTAssertEqual(count, c["count"] as! Int)
        XCTAssertEqual(value, c["perplexity"] as! Double, accuracy: 0.0006, "printed with 3 decimals")
        let missing = try BuiltBinary.run(["eval", "--model", "fixtures/models/stories260K", "--data", "fixtures/eval/absent.tokens"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stdout, "")
        XCTAssertTrue(missing.stderr.hasPrefix("error: ") && missing.stderr.contains("absent.tokens"), missing.stderr)
    }

    func testTokenizePrintsTheTokenizersLibraryIds() throws {
        let reference = try Fixtures.readJSON(Fixtures.path("tokenizers/llama3-bpe.ids.json")) as! [String: Any]
        let corpus = (try Fixtures.readJSON(Fixtures.path("tokenizers/corpus.json")) as! [String: Any])["lines"] as! [String]
        let indices = reference["line_indices"] as! [Int], ids = reference["ids"] as! [[Int]]
        // Lines a text file can hold one per line (no line breaks inside), the first 40 of them.
        var picks = Array(indices.indices.filter { !corpus[indices[$0]].contains(where: \.isNewline) }.prefix(40))
        while corpus[indices[picks.last!]].isEmpty { picks.removeLast() }   // a file's last line is never empty
        let file = temporary("lines.txt")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try picks.map { corpus[indices[$0]] }.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let r = try BuiltBinary.run(["tokenize", "--tokenizer", "fixtures/tokenizers/llama3-bpe.tokenizer.json", "--file", file, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let printed = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [Int]
        }
        XCTAssertEqual(printed.count, picks.count)
        for (k, i) in picks.enumerated() where k < printed.count {
            XCTAssertEqual(printed[k], ids[i], "line \(indices[i])")
        }
    }

    func testValidateAcceptsEveryShippedFixtureRecipeAndNamesTheBadKey() throws {
        let ok = try BuiltBinary.run(["validate", "--recipe", "recipes/nf4.json"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(ok.stdout, "recipes/nf4.json: valid (1 passes: nf4)\n")
        let bad = temporary("bad.json")
        defer { try? FileManager.default.removeItem(atPath: bad) }
        try #"{"version": 1, "model": "x", "passes": [{"pass": "nf4", "block_size": 7}]}"#.write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try BuiltBinary.run(["validate", "--recipe", bad])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "error: \(bad): passes[0].block_size: must be a power of two from 32 to 4096 (got 7)\n")
    }

    func testLogitsWritesTransformersLogits() throws {
        let reference = try SafetensorsFile(path: try Fixtures.required("models-reference/stories260K.safetensors",
                                                                         regenerate: "tools/reference/models_reference.py"))
        let ids = try reference.tensor("input_ids").floats().map { String(Int($0)) }.joined(separator: ",")
        let out = temporary("logits.safetensors")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try BuiltBinary.run(["logits", "--model", "fixtures/models/stories260K", "--ids", ids, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let logits = try SafetensorsFile(path: out).tensor("logits")
        XCTAssertEqual(logits.shape, [12, 512])
        assertClose(logits.floats(), try reference.tensor("output").floats(), atol: 1e-4, "compress logits vs transformers")
    }

    func testDryRunPrintsThePlanAndWritesNothing() throws {
        let output = temporary("dry-run")
        let r = try BuiltBinary.run(["run", "--recipe", "recipes/nf4.json", "--dry-run", "--output", output])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "a dry run writes nothing")
        // The nf4 pass touches every block linear except the ignored head: 7 per layer of the 4-layer model.
        let checkpoint = try Checkpoint(path: Fixtures.path("models/shakespeare-llama"))
        let linears = checkpoint.names.filter { $0.contains(".layers.") && $0.hasSuffix("_proj.weight") }.count
        XCTAssertEqual(linears, 28)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("model   ") && $0.contains("(\(checkpoint.parameterCount) parameters") }, r.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("pass 1  nf4  ") }, r.stdout)
        XCTAssertTrue(lines.contains("        touches \(linears) tensors (2.95 MB)"), r.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("estimated output size") }, r.stdout)
    }

    /// `make demo`'s recipe itself (recipes/quickstart.json: FinerCut, fine-tuning, NF4 on the Shakespeare
    /// model), with the evaluation cut to the first 4,096 held-out tokens so the test stays short. The
    /// original's perplexity equals transformers' over the same 16 windows (REFERENCE.json).
    func testQuickstartRecipeRunsWithAReducedEvaluation() throws {
        var recipe = try Fixtures.readJSON(Fixtures.repoRoot + "/recipes/quickstart.json") as! [String: Any]
        let recipes = Fixtures.repoRoot + "/recipes/"
        recipe["model"] = recipes + (recipe["model"] as! String)
        for key in ["calibration", "training"] {
            var section = recipe[key] as! [String: Any]; section["data"] = recipes + (section["data"] as! String); recipe[key] = section
        }
        recipe["evaluation"] = (recipe["evaluation"] as! [[String: Any]]).map { e in
            var e = e; e["data"] = recipes + (e["data"] as! String); e["max_tokens"] = 4096; return e
        }
        let output = temporary("quickstart")
        recipe["output"] = output
        let file = temporary("quickstart.json")
        try JSONSerialization.data(withJSONObject: recipe).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file); try? FileManager.default.removeItem(atPath: output) }
        let r = try BuiltBinary.run(["run", "--recipe", file, "--force", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try Report.decode(Data(contentsOf: URL(fileURLWithPath: output + "/report.json")))
        XCTAssertEqual(report.passes.map(\.kind), ["finercut", "finetune", "nf4"])
        let reference = try Fixtures.readJSON(Fixtures.path("models/shakespeare-llama/REFERENCE.json")) as! [String: Any]
        let windows = ((reference["perplexity_first_16384"] as! [String: Any])["window_mean_nll"] as! [Double]).prefix(16)
        let expected = exp(windows.reduce(0, +) / 16)
        let ppl = try XCTUnwrap(report.comparisons.first)
        XCTAssertEqual(try XCTUnwrap(ppl.original), expected, accuracy: 1e-4 * expected, "original perplexity vs transformers")
        XCTAssertNotNil(ppl.compressed)
        // FinerCut removed 2 of 8 sublayers (zeroed layout): stored parameters equal, computing ones fewer.
        let size = try XCTUnwrap(report.size)
        XCTAssertEqual(size.originalParameters, size.compressedParameters)
        XCTAssertLessThan(try XCTUnwrap(size.compressedComputingParameters), try XCTUnwrap(size.originalComputingParameters))
        for name in ["report.html", "report.md", "config.json", "model.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: output + "/" + name), name)
        }
    }
}

/// `compress` on `.gguf` models through the built binary.
final class GGUFCommandTests: XCTestCase {
    /// A recipe whose model is a .gguf file plans like one on a folder: the nf4 pass touches the 7
    /// block linears of each of the 2 layers, sized as F32 (what the pipeline dequantizes to); the
    /// parameter count is the Hugging Face folder's the file was converted from.
    func testDryRunOnAGGUFModel() throws {
        let gguf = try Fixtures.required("gguf/spm/spm-f32.gguf", regenerate: "tools/reference/gguf_spm_reference.py")
        let folder = NSTemporaryDirectory() + "whittle-gguf-dry-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let recipe = """
        {"version": 1, "model": "\(gguf)",
         "output": "\(folder)/out", "passes": [{"pass": "nf4", "block_size": 32, "ignore": ["lm_head"]}]}
        """
        try recipe.write(toFile: folder + "/recipe.json", atomically: true, encoding: .utf8)
        let r = try BuiltBinary.run(["run", "--recipe", folder + "/recipe.json", "--dry-run"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/out"), "a dry run writes nothing")
        let hf = try Checkpoint(path: Fixtures.path("gguf/spm/hf"))
        let linears = hf.names.filter { $0.contains(".layers.") && $0.hasSuffix("_proj.weight") }
        XCTAssertEqual(linears.count, 14)
        let linearBytes = linears.compactMap { hf.info($0)?.byteCount }.reduce(0, +)   // the HF folder is F32
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("model   ") && $0.contains("(\(hf.parameterCount) parameters, file ") }, r.stdout)
        XCTAssertTrue(lines.contains("        touches 14 tensors (\(formatBytes(linearBytes)))"), r.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("estimated output size") }, r.stdout)
    }
}
