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

    func testConvertHelpText() {
        XCTAssertEqual(Convert.helpMessage(columns: 100), """
        OVERVIEW: Convert a llama.cpp .gguf model (llama, qwen2) to a Hugging Face folder (config.json +
        F32 weights).

        USAGE: convert <path> --output <output>

        ARGUMENTS:
          <path>                  A .gguf file.

        OPTIONS:
          --output <output>       The folder to write (absent or empty).
          -h, --help              Show help information.

        """)
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
