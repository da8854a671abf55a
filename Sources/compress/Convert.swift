import ArgumentParser
import Foundation
import Whittle

/// `compress convert model.gguf --output DIR`: a llama.cpp file as a Hugging Face folder
/// (`config.json` + F32 `model.safetensors`, q/k rows in Hugging Face order). The tokenizer stays in
/// the GGUF metadata: it is not written yet.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a llama.cpp .gguf model (llama, qwen2) to a Hugging Face folder (config.json + F32 weights).")

    @Argument(help: "A .gguf file.")
    var path: String

    @Option(help: "The folder to write (absent or empty).")
    var output: String

    func validate() throws {
        guard path.lowercased().hasSuffix(".gguf") else { throw ValidationError("expected a .gguf file (got '\(path)')") }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output, isDirectory: &isFolder) else { return }
        guard isFolder.boolValue else { throw ValidationError("--output \(output) exists and is not a folder") }
        guard (try? FileManager.default.contentsOfDirectory(atPath: output))?.isEmpty == true else {
            throw ValidationError("--output \(output) exists and is not empty")
        }
    }

    func run() throws {
        try exitOnUserError {
            let store = try GGUFTensorStore(path: path)
            try CheckpointFolderWriter.write(store, to: output, inputs: [path])
            let count = store.names.count
            print("wrote \(count) tensors (F32) and config.json to \(output) (\(store.layout.modelType); no tokenizer)")
        }
    }
}
