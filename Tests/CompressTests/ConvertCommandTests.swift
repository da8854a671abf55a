import XCTest
import Whittle
import TestSupport
@testable import compress

/// `compress convert x.gguf --output DIR` writes a folder our runtime loads to the same logits as the
/// .gguf (and as transformers' GGUF loader, tools/reference/gguf_llama_reference.py); `compress logits`
/// takes the .gguf directly.
final class ConvertCommandTests: XCTestCase {
    let regenerate = "/root/venv/bin/python tools/reference/gguf_llama_reference.py"

    func reference() throws -> (ids: [Int], file: SafetensorsFile) {
        let file = try SafetensorsFile(path: try Fixtures.required("gguf/llama-tiny/reference.safetensors", regenerate: regenerate))
        return (try file.tensor("ids").floats().map { Int($0) }, file)
    }

    func testConvertedQ8_0FolderGivesTheGGUFLogits() throws {
        let (ids, file) = try reference()
        let gguf = try Fixtures.required("gguf/llama-tiny/q8_0.gguf", regenerate: regenerate)
        let folder = NSTemporaryDirectory() + "whittle-convert-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var command = try Convert.parse([gguf, "--output", folder])
        try command.run()
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/config.json"))
        let converted = try TransformerModel.load(path: folder).forward(ModelInput(tokens: [ids]))
        let direct = try TransformerModel.load(path: gguf).forward(ModelInput(tokens: [ids]))
        XCTAssertEqual(converted.logits, direct.logits, "the folder holds exactly the dequantized weights")
        assertClose(converted.logits, try file.tensor("logits_q8_0").floats(), atol: 1e-4, "converted folder vs transformers' GGUF loader")
        XCTAssertEqual(try Checkpoint(path: folder).config["tie_word_embeddings"] as? Bool, false)
    }

    /// The folder carries the GGUF's tokenizer as tokenizer.json: it tokenizes like llama.cpp
    /// (`llama-tokenize` ids in the fixture, tools/reference/gguf_spm_reference.py), and no temporary
    /// folder is left beside it.
    func testConvertedFolderHasTheGGUFTokenizer() throws {
        let gguf = try Fixtures.required("gguf/spm/spm-f32.gguf", regenerate: "tools/reference/gguf_spm_reference.py")
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: try Fixtures.required(
            "gguf/spm/reference.json", regenerate: "tools/reference/gguf_spm_reference.py")))) as? [String: Any]
        let texts = try XCTUnwrap(reference?["texts"] as? [String]), ids = try XCTUnwrap(reference?["llama_cpp"] as? [[Int]])
        let parent = NSTemporaryDirectory() + "whittle-convert-tok-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        var command = try Convert.parse([gguf, "--output", parent + "/model"])
        try command.run()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent), ["model"], "renamed into place, nothing left over")
        let tokenizer = try Tokenizer(jsonFile: parent + "/model/tokenizer.json")
        for (text, expected) in zip(texts, ids) { XCTAssertEqual(tokenizer.encode(text, addSpecialTokens: false), expected, text) }
    }

    func testConvertHelpText() {
        XCTAssertEqual(Convert.helpMessage(columns: 100), """
        OVERVIEW: Convert a llama.cpp .gguf model to a Hugging Face folder, or a model to a .gguf file
        (--output x.gguf --type q4_k_m).

        USAGE: convert <path> --output <output> [--type <type>]

        ARGUMENTS:
          <path>                  A .gguf file, or (with --output x.gguf) a model folder.

        OPTIONS:
          --output <output>       The folder to write (absent or empty), or a .gguf file.
          --type <type>           GGUF file type: f32, f16, bf16, q8_0, q4_0, q4_1, q4_k_m (only with
                                  --output x.gguf).
          -h, --help              Show help information.

        """)
    }

    /// `convert DIR --output x.gguf --type T`: a llama.cpp file our reader loads back (F16: within half precision).
    func testConvertFolderToGGUF() throws {
        let model = Fixtures.path("models/shakespeare-llama")
        let out = NSTemporaryDirectory() + "whittle-convert-\(getpid()).gguf"
        defer { try? FileManager.default.removeItem(atPath: out) }
        var command = try Convert.parse([model, "--output", out, "--type", "f16"])
        try command.run()
        let store = try GGUFTensorStore(path: out)
        XCTAssertEqual(store.file.info("blk.0.attn_q.weight")?.type, .F16)
        XCTAssertEqual(store.file.info("blk.0.attn_norm.weight")?.type, .F32)
        let source = try Checkpoint(path: model)
        assertClose(try store.floats("model.layers.1.mlp.up_proj.weight"), try source.floats("model.layers.1.mlp.up_proj.weight"), atol: 2e-3, "F16 round trip")
        XCTAssertThrowsError(try Convert.parse([model, "--output", out, "--type", "q3_k"]))
        XCTAssertThrowsError(try Convert.parse([model, "--output", "/tmp/folder", "--type", "q4_0"]), "--type needs a .gguf output")
    }

    func testConvertRefusesANonEmptyOutput() throws {
        let gguf = try Fixtures.required("gguf/llama-tiny/f32.gguf", regenerate: regenerate)
        XCTAssertThrowsError(try Convert.parse([gguf, "--output", Fixtures.path("gguf")]))
        XCTAssertThrowsError(try Convert.parse([Fixtures.path("gguf/types.reference.safetensors"), "--output", "/tmp/x"]))
    }

    func testLogitsCommandReadsAGGUFFile() throws {
        let (ids, file) = try reference()
        let out = NSTemporaryDirectory() + "whittle-gguf-logits-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: out) }
        var command = try Logits.parse(["--model", try Fixtures.required("gguf/llama-tiny/f32.gguf", regenerate: regenerate),
                                        "--ids", ids.map(String.init).joined(separator: ","), "--out", out])
        try command.run()
        let logits = try SafetensorsFile(path: out).tensor("logits")
        XCTAssertEqual(logits.shape, [12, 96])
        assertClose(logits.floats(), try file.tensor("logits_f32").floats(), atol: 1e-4, "compress logits x.gguf vs transformers")
    }
}
