import ArgumentParser
import Foundation
import Whittle

/// `compress --recipe FILE`: the main job.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a recipe: evaluate, compress, evaluate again, write the output folder and report.")

    @Option(help: "The recipe JSON file.")
    var recipe: String

    @Option(help: "Output folder (overrides the recipe's \"output\").")
    var output: String?

    @Flag(help: "Print the plan (passes, tensors touched, estimated size) and stop.")
    var dryRun = false

    @Flag(help: "Replace an existing output folder.")
    var force = false

    @Option(help: "Threads for BLAS and parallel loops (default: all cores).")
    var threads: Int?

    @Flag(help: "Print only errors and the final table.")
    var quiet = false

    @Flag(help: "Print every tensor each pass changed.")
    var verbose = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if quiet && verbose { throw ValidationError("--quiet and --verbose cannot be used together") }
    }

    func run() throws {
        try exitOnUserError {
            if let threads { Threads.set(threads) }
            let recipe = try Recipe.load(path: self.recipe)
            var options = Pipeline.Options(output: output, force: force)
            let console = Console(quiet: quiet)
            options.log = console.log
            options.progress = console.progress
            let pipeline = Pipeline(recipe: recipe, options: options)
            if dryRun {
                print(try DryRun(pipeline: pipeline).text())
                return
            }
            let result = try pipeline.run()
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
