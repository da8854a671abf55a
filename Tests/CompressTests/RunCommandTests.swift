import XCTest
import ArgumentParser
@testable import compress

/// The command line is an interface: its help text is part of it (swift-argument-parser style).
final class RunCommandTests: XCTestCase {
    func testRunHelpText() {
        XCTAssertEqual(Run.helpMessage(columns: 100), """
        OVERVIEW: Run a recipe: evaluate, compress, evaluate again, write the output folder and report.

        Exit codes: 0 done, 1 error, 3 the recipe's accuracy gate failed (report in <output>.gate-report,
        no output).

        USAGE: run --recipe <recipe> [--output <output>] [--dry-run] [--force] [--threads <threads>] [--quiet] [--verbose] [--shard <shard>] [--resume] [--save-every <save-every>] [--output-shards <output-shards>]

        OPTIONS:
          --recipe <recipe>       The recipe JSON file.
          --output <output>       Output folder (overrides the recipe's "output").
          --dry-run               Print the plan (passes, tensors touched, estimated size) and stop.
          --force                 Replace an existing output folder.
          --threads <threads>     Threads for BLAS and parallel loops (default: all cores).
          --quiet                 Print only errors and the final table.
          --verbose               Print every tensor each pass changed.
          --shard <shard>         Run slice I/N of the splittable work into <output>.shard-I-of-N ('auto':
                                  from a Slurm array or Kubernetes Indexed Job); then 'compress merge'.
          --resume                Continue a killed run of the same recipe and input from the progress it
                                  saved.
          --save-every <save-every>
                                  Work items or training steps between progress saves (default: 16).
          --output-shards <output-shards>
                                  Write the weights as N shards of a sharded checkpoint (as a weight-only
                                  quantization run with --shard I/N does).
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
          merge                   Join the partial results of 'compress --shard I/N' (every slice exactly
                                  once) and finish the run.
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
        func expect(_ arguments: [String], _ message: String, line: UInt = #line) {
            XCTAssertThrowsError(try Run.parse(arguments), line: line) {
                XCTAssertEqual(Run.message(for: $0), message, line: line)
            }
        }
        expect(["--recipe", "r.json", "--threads", "0"], "--threads must be at least 1 (got 0)")
        expect(["--recipe", "r.json", "--quiet", "--verbose"], "--quiet and --verbose cannot be used together")
        expect([], "Missing expected argument '--recipe <recipe>'")
        expect(["--recipe", "r.json", "--threads", "two"], "The value 'two' is invalid for '--threads <threads>'")
        XCTAssertNoThrow(try Run.parse(["--recipe", "r.json", "--threads", "2", "--dry-run"]))
        XCTAssertThrowsError(try Run.parse(["--recipe", "r.json", "--shard", "1/2", "--resume"]), "a shard does not resume")
        XCTAssertThrowsError(try Run.parse(["--recipe", "r.json", "--save-every", "0"]))
        XCTAssertThrowsError(try Merge.parse([]), "merge needs the partial folders")
    }

    /// Every command that runs a model takes `--threads`, checked the same way.
    func testModelCommandsTakeThreads() {
        let commands: [(ParsableCommand.Type, [String])] = [
            (Eval.self, ["--model", "m", "--data", "d.txt"]), (Logits.self, ["--model", "m", "--ids", "1,2"]),
            (Merge.self, ["p"]), (Run.self, ["--recipe", "r.json"]),
        ]
        for (command, arguments) in commands {
            XCTAssertNoThrow(try command.parseAsRoot(arguments + ["--threads", "2"]), "\(command)")
            XCTAssertThrowsError(try command.parseAsRoot(arguments + ["--threads", "0"]), "\(command)") {
                XCTAssertEqual(command.message(for: $0), "--threads must be at least 1 (got 0)", "\(command)")
            }
        }
    }
}
