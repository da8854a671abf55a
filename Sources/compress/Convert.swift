import ArgumentParser
import Foundation
import Whittle

/// `compress convert model.gguf --output DIR`: a llama.cpp file as a Hugging Face folder
/// (`config.json` + F32 `model.safetensors`, q/k rows in Hugging Face order, `tokenizer.json` rebuilt
/// from the `tokenizer.ggml.*` metadata).
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
            // The tokenizer from the metadata, rebuilt on another thread while the tensors are written (it
            // is serial work, the writing mostly kernel copies): an unsupported one is reported, not fatal.
            let rebuilt = TokenizerRebuild()
            let done = DispatchGroup()
            DispatchQueue.global().async(group: done) {
                do { rebuilt.document = try GGUFTokenizerJSON.document(store.file) } catch { rebuilt.note = "; no tokenizer.json: \(error)" }
            }
            // Written beside the target and renamed into place, so a failed run leaves no half folder.
            let temporary = output + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
            defer { done.wait() }
            let tokenizer: Data?, tokenizerNote: String
            do {
                try CheckpointFolderWriter.write(store, to: temporary, inputs: [path])
                done.wait()
                (tokenizer, tokenizerNote) = (rebuilt.document, rebuilt.note)
                try tokenizer?.write(to: URL(fileURLWithPath: temporary + "/tokenizer.json"))
                if FileManager.default.fileExists(atPath: output) { try FileManager.default.removeItem(atPath: output) }   // empty (validated)
                try FileManager.default.moveItem(atPath: temporary, toPath: output)
            } catch {
                try? FileManager.default.removeItem(atPath: temporary)
                throw error
            }
            let files = tokenizer == nil ? "config.json" : "config.json and tokenizer.json"
            print("wrote \(store.names.count) tensors (F32), \(files) to \(output) (\(store.layout.modelType)\(tokenizerNote))")
        }
    }
}

/// The tokenizer.json rebuilt beside the tensor writing (read after the group's wait).
private final class TokenizerRebuild: @unchecked Sendable {
    var document: Data?
    var note = ""
}
