import ArgumentParser
import Foundation
import Whittle

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the tensors, dtypes, parameter count and config of a .safetensors file or checkpoint folder.")

    @Argument(help: "A .safetensors or .gguf file, or a checkpoint folder.")
    var path: String

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() throws {
        try exitOnUserError {
            let summary = path.hasSuffix(".gguf") ? CheckpointSummary(gguf: try GGUFFile(path: path))
                                                  : CheckpointSummary(try Checkpoint(path: path))
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            } else {
                print(summary.text())
            }
        }
    }
}
