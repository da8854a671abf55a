import ArgumentParser
import Foundation
import Whittle

/// `compress convert model.gguf --output DIR`: a llama.cpp file as a Hugging Face folder
/// (`config.json` + F32 `model.safetensors`, q/k rows in Hugging Face order). The tokenizer stays in
/// the GGUF metadata: it is not written yet.
/// `compress convert DIR --output x.gguf --type q4_0`: a Hugging Face folder (Llama, Mistral, Qwen2;
/// a `.gguf` works too) as a llama.cpp file of that type, tokenizer.json in the metadata (`GGUFExport`).
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a llama.cpp .gguf model to a Hugging Face folder, or a model to a .gguf file (--output x.gguf --type q4_k_m).")

    @Argument(help: "A .gguf file, or (with --output x.gguf) a model folder.")
    var path: String

    @Option(help: "The folder to write (absent or empty), or a .gguf file.")
    var output: String

    @Option(help: "GGUF file type: \(GGUFExportType.allCases.map(\.rawValue).joined(separator: ", ")) (only with --output x.gguf).")
    var type: String?

    var writesGGUF: Bool { output.lowercased().hasSuffix(".gguf") }

    func validate() throws {
        if writesGGUF {
            let t = type ?? "f16"
            guard GGUFExportType(rawValue: t) != nil else {
                throw ValidationError("--type \(t) is not one of \(GGUFExportType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return
        }
        guard type == nil else { throw ValidationError("--type applies only when --output is a .gguf file") }
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
            if writesGGUF {
                let exportType = GGUFExportType(rawValue: type ?? "f16")!
                let store = try openTensorStore(path: path)
                var isFolder: ObjCBool = false
                let folder = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue ? path : nil
                let tokenizer = folder.flatMap { FileManager.default.fileExists(atPath: $0 + "/tokenizer.json") ? $0 : nil }
                let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                let summary = try GGUFExport.write(store, to: output, type: exportType, tokenizerFolder: tokenizer, name: name, inputs: [path])
                let types = summary.typeCounts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                print("wrote \(summary.tensors.count) tensors (\(types)) to \(output), \(summary.bytes) bytes\(tokenizer == nil ? " (no tokenizer.json: llama.cpp cannot run it)" : "")")
                return
            }
            let store = try GGUFTensorStore(path: path)
            try CheckpointFolderWriter.write(store, to: output, inputs: [path])
            let count = store.names.count
            print("wrote \(count) tensors (F32) and config.json to \(output) (\(store.layout.modelType); no tokenizer)")
        }
    }
}
