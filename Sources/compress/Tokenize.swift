import ArgumentParser
import Foundation
import Whittle

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of each input line, as the tokenizers library's encode gives them.")

    @Option(help: "A tokenizer.json file.")
    var tokenizer: String?

    @Option(help: "A model folder (tokenizer.json, else vocab.txt) or a .gguf file (its tokenizer.ggml.* metadata).")
    var model: String?

    @Option(help: "Text to tokenize; each line is encoded separately.")
    var text: String?

    @Option(help: "A UTF-8 text file; each line is encoded separately.")
    var file: String?

    @Flag(help: "Print one JSON array of ids per line (default: space-separated ids).")
    var json = false

    @Flag(name: .customLong("no-special"), help: "Do not add the special tokens of the post-processor.")
    var noSpecial = false

    func validate() throws {
        guard (tokenizer == nil) != (model == nil) else { throw ValidationError("give exactly one of --tokenizer FILE or --model DIR") }
        guard (text == nil) != (file == nil) else { throw ValidationError("give exactly one of --text S or --file F") }
    }

    func run() throws {
        try exitOnUserError {
            let tok = try tokenizer.map { try Tokenizer(jsonFile: $0) } ?? (model!.lowercased().hasSuffix(".gguf") ? Tokenizer.fromGGUF(path: model!) : Tokenizer.load(folder: model!))
            let bytes: [UInt8]
            if let file {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw TokenizerError.unreadableFile(path: file, reason: "no such file or not readable")
                }
                bytes = [UInt8](data)
            } else {
                bytes = Array(text!.utf8)
            }
            let lines = try LineTokenization.lines(of: bytes)
            FileHandle.standardOutput.write(Data(LineTokenization.render(tok, lines: lines, addSpecialTokens: !noSpecial, json: json).utf8))
        }
    }
}
