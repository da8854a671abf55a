import ArgumentParser
import Whittle

/// `--threads N`, shared by every command that runs a model: BLAS and our parallel loops use N threads.
struct ThreadsOption: ParsableArguments {
    @Option(help: "Threads for BLAS and parallel loops (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    /// Sets the thread count for the rest of the process (no-op without `--threads`).
    func apply() {
        if let threads { Threads.set(threads) }
    }
}
