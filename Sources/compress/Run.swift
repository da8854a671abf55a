import ArgumentParser
import Foundation
import Whittle

/// `compress --recipe FILE`: the main job.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a recipe: evaluate, compress, evaluate again, write the output folder and report.",
        discussion: "Exit codes: 0 done, 1 error, 3 the recipe's accuracy gate failed (report in <output>.gate-report, no output).")

    @Option(help: "The recipe JSON file.")
    var recipe: String

    @Option(help: "Output folder (overrides the recipe's \"output\").")
    var output: String?

    @Flag(help: "Print the plan (passes, tensors touched, estimated size) and stop.")
    var dryRun = false

    @Flag(help: "Replace an existing output folder.")
    var force = false

    @OptionGroup var threading: ThreadsOption

    @Flag(help: "Print only errors and the final table.")
    var quiet = false

    @Flag(help: "Print every tensor each pass changed.")
    var verbose = false

    @Option(help: "Run slice I/N of the splittable work into <output>.shard-I-of-N ('auto': from a Slurm array or Kubernetes Indexed Job); then 'compress merge'.")
    var shard: String?

    @Flag(help: "Continue a killed run of the same recipe and input from the progress it saved.")
    var resume = false

    @Option(help: "Work items or training steps between progress saves (default: 16).")
    var saveEvery: Int?

    @Option(help: "Write the weights as N shards of a sharded checkpoint (as a weight-only quantization run with --shard I/N does).")
    var outputShards: Int?

    func validate() throws {
        if let outputShards, outputShards < 1 { throw ValidationError("--output-shards must be at least 1 (got \(outputShards))") }
        if let saveEvery, saveEvery < 1 { throw ValidationError("--save-every must be at least 1 (got \(saveEvery))") }
        if shard != nil && resume { throw ValidationError("--shard and --resume cannot be used together (a shard is short; rerun it)") }
        if quiet && verbose { throw ValidationError("--quiet and --verbose cannot be used together") }
    }

    func run() throws {
        try exitOnUserError {
            threading.apply()
            let recipe = try Recipe.load(path: self.recipe)
            var options = Pipeline.Options(output: output, force: force)
            let console = Console(quiet: quiet)
            options.log = console.log
            options.progress = console.progress
            options.resume = resume
            if let saveEvery { options.saveEvery = saveEvery }
            options.outputShards = outputShards
            // Fault injection for the resume tests: SIGKILL itself after N computed work items.
            if let n = ProcessInfo.processInfo.environment["WHITTLE_KILL_AFTER_ITEMS"].flatMap(Int.init) {
                options.afterRecord = { if $0 == n { kill(getpid(), SIGKILL) } }
            }
            if let n = ProcessInfo.processInfo.environment["WHITTLE_KILL_AFTER_STEPS"].flatMap(Int.init) {
                options.afterStep = { if $0 == n { kill(getpid(), SIGKILL) } }
            }
            let pipeline = Pipeline(recipe: recipe, options: options)
            if dryRun {
                print(try DryRun(pipeline: pipeline).text())
                return
            }
            if let shard {
                try pipeline.runShard(try WorkSlice.parse(shard))
                return
            }
            let result = try exitOnGateViolation { try pipeline.run() }
            if verbose {
                for pass in result.report.passes {
                    for t in pass.tensors {
                        let error = t.relativeError.map { String(format: "  rel. error %.4f", $0) } ?? ""
                        console.log("  \(pass.kind) \(t.name): \(t.before) → \(t.after)\(error)")
                    }
                }
            }
            print(ResultTable(result: result).text())
            console.log("wrote \(result.outputFolder)")
        }
    }
}

/// `compress merge DIR…`: joins the partial results of `compress --shard` and finishes the run.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join the partial results of 'compress --shard I/N' (every slice exactly once) and finish the run.")

    @Argument(help: "The partial result folders (<output>.shard-I-of-N).")
    var partials: [String]

    @Option(help: "Output folder (overrides the recipe's \"output\").")
    var output: String?

    @Flag(help: "Replace an existing output folder.")
    var force = false

    @OptionGroup var threading: ThreadsOption

    @Flag(help: "Print only errors and the final table.")
    var quiet = false

    func validate() throws {
        if partials.isEmpty { throw ValidationError("give the partial result folders to merge") }
    }

    func run() throws {
        try exitOnUserError {
            threading.apply()
            var options = Pipeline.Options(output: output, force: force)
            let console = Console(quiet: quiet)
            options.log = console.log
            options.progress = console.progress
            let result = try exitOnGateViolation { try Pipeline.merge(partials: partials, options: options) }
            print(ResultTable(result: result).text())
            console.log("wrote \(result.outputFolder)")
        }
    }
}

/// `compress validate --recipe FILE`.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a recipe without running it.")

    @Option(help: "The recipe JSON file.")
    var recipe: String

    func run() throws {
        try exitOnUserError {
            let recipe = try Recipe.load(path: self.recipe)
            print("\(self.recipe): valid (\(recipe.passes.count) passes: \(recipe.passes.map(\.kind).joined(separator: ", ")))")
        }
    }
}
