import ArgumentParser
import Foundation
import Whittle

@main
struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compress",
        abstract: "Compress transformer checkpoints with a JSON recipe and report what it cost.",
        subcommands: [
            Run.self,
            Merge.self,
            Validate.self,
            Inspect.self,
            Logits.self,
            Convert.self,
            Eval.self,
            Tokenize.self,
        ],
        defaultSubcommand: Run.self
    )
}
