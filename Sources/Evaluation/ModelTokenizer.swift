import Foundation
import Checkpoints
import Datasets
import Tokenizers

extension Tokenizer {
    /// A `.gguf` file's tokenizer, rebuilt from its `tokenizer.ggml.*` metadata (`GGUFTokenizerJSON`).
    public static func fromGGUF(path: String) throws -> Tokenizer {
        let file = try GGUFFile(path: path)
        return try Tokenizer(jsonData: try GGUFTokenizerJSON.document(file), source: path + " (tokenizer.ggml.*)")
    }

    /// The tokenizer of a model path as evaluation uses it: a folder's files (nil when it has none)
    /// or a `.gguf` file's metadata (nil when it has none).
    public static func forEvaluation(model path: String) throws -> Tokenizer? {
        if path.lowercased().hasSuffix(".gguf") {
            guard try GGUFFile(path: path).metadata["tokenizer.ggml.model"] != nil else { return nil }
            let t = try fromGGUF(path: path)
            t.truncation = nil
            t.padding = nil
            return t
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else { return nil }
        do { return try forEvaluation(folder: path) } catch TokenizerError.noTokenizerFiles { return nil }
    }
}
