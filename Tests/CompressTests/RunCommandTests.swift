import XCTest
@testable import compress

/// The command line is an interface: its help text is part of it (swift-argument-parser style).
final class RunCommandTests: XCTestCase {
    func testRunHelpText() {
        XCTAssertEqual(Run.helpMessage(columns: 100), """
        OVERVIEW: Run a recipe: evaluate, compress, evaluate again, write the output folder and report.

        USAGE: run --recipe <recipe> [--output <output>] [--dry-run] [--force] [--threads <threads>] [--quiet] [--verbose]

        OPTIONS:
          --recipe <recipe>       The recipe JSON file.
          --output <output>       Output folder (overrides the recipe's "output").
          --dry-run               Print the plan (passes, tensors touched, estimated size) and stop.
          --force                 Replace an existing output folder.
          --threads <threads>     Threads for BLAS and parallel loops (default: all cores).
          --quiet                 Print only errors and the final table.
          --verbose               Print every tensor each pass changed.
          -h, --help              Show help information.

        """)
    }

    func testRootHelpListsEverySubcommandWithRunAsDefault() {
        XCTAssertEqual(Compress.helpMessage(columns: 100), """
        OVERVIEW: Compress transformer checkpoints with a JSON recipe and report what it cost.

        USAGE: compress <subcommand>

        OPTIONS:
          -h, --help              Show help information.

        SUBCOMMANDS:
          run (default)           Run a recipe: evaluate, compress, evaluate again, write the output folder
                                  and report.
          validate                Check a recipe without running it.
          inspect                 List the tensors, dtypes, parameter count and config of a .safetensors
                                  file or checkpoint folder.
          logits                  Run a model on token ids; write the logits or print the top-5 next tokens.
          convert                 Convert a llama.cpp .gguf model to a Hugging Face folder, or a model to a
                                  .gguf file (--output x.gguf --type q4_k_m).
          eval                    Measure a model on a data file: perplexity (language models) or accuracy,
                                  F1, MCC, Pearson, Spearman (classifiers).
          tokenize                Print the token ids of each input line, as the tokenizers library's
                                  encode gives them.

          See 'compress help <subcommand>' for detailed help.
        """)
    }

    func testValidateHelpText() {
        XCTAssertEqual(Validate.helpMessage(columns: 100), """
        OVERVIEW: Check a recipe without running it.

        USAGE: validate --recipe <recipe>

        OPTIONS:
          --recipe <recipe>       The recipe JSON file.
          -h, --help              Show help information.

        """)
    }

    func testBadOptionValuesAreUserErrors() {
        XCTAssertThrowsError(try Run.parse(["--recipe", "r.json", "--threads", "0"]))
        XCTAssertThrowsError(try Run.parse(["--recipe", "r.json", "--quiet", "--verbose"]))
        XCTAssertThrowsError(try Run.parse([]), "--recipe is required")
        XCTAssertNoThrow(try Run.parse(["--recipe", "r.json", "--threads", "2", "--dry-run"]))
    }
}
