import Foundation
import Checkpoints
import Passes

/// Sharded runs (docs/ARCHITECTURE.md "Production runs"): `compress --shard I/N` computes slice I of
/// the work items that depend only on the input — the input model's evaluation (perplexity windows,
/// classified examples), the first pass's items when it splits (OPTIN's unit scores), and when the
/// first pass is weight-only quantization, shard I of N of the output checkpoint — and writes them
/// as a partial result; `compress merge` checks the partials and runs the recipe with every item
/// taken from them. The merged output is the single-process output byte for byte: each item is
/// computed by the same code, and totals add items in item order.
extension Pipeline {
    /// The partial-result folder of a slice: `<output>.shard-I-of-N`.
    public func partialFolder(_ slice: WorkSlice) -> String {
        URL(fileURLWithPath: outputPath).standardized.path + ".shard-\(slice.index + 1)-of-\(slice.count)"
    }

    /// Runs `slice` of the splittable work and writes `<partialFolder>/work.json`; returns the folder.
    @discardableResult
    public func runShard(_ slice: WorkSlice) throws -> String {
        let log = options.log
        let folder = partialFolder(slice)
        if FileManager.default.fileExists(atPath: folder) && !options.force { throw RecipeError.outputExists(path: folder) }
        let input = try loadInput()
        let fingerprint = try Fingerprint.of(recipe: recipe, input: input)
        let parts = Fingerprint.parts(recipe: recipe, input: input)
        let data = try PipelineData(modelFolder: recipe.model, input: input)
        let ledger = WorkLedger(slice: slice)
        let quantizesByRanges = recipe.passes.first.map(Self.quantizesWeightsOnly) ?? false
        let splittable = recipe.evaluation.contains { [.perplexity, .accuracy, .f1, .mcc].contains($0.metric) }
            || recipe.passes.first?.splitsIntoWorkItems == true || quantizesByRanges
        guard splittable else {
            throw RecipeError.invalid(jsonPath: "passes", message: "nothing in this recipe splits into shards (splitting: perplexity and classification evaluation, "
                                      + "and a first pass with work items such as optin); run it without --shard")
        }

        var evaluator = RecipeEvaluator(specs: recipe.evaluation, data: data, log: log, ledger: ledger)
        evaluator.sliceOnly = true
        if !recipe.evaluation.isEmpty {
            log("shard \(slice): evaluating the input model")
            _ = try evaluator.evaluateOriginal(input)
        }
        if let first = recipe.passes.first, first.splitsIntoWorkItems {
            log("shard \(slice): pass 1/\(recipe.passes.count): \(first.kind)")
            var context = try passContext(data: data, input: input)
            context.ledger = ledger
            context.step = "passes[0]"
            do { _ = try first.apply(to: EditableCheckpoint(source: input), context: context) } catch is SliceComplete {}
        }
        let temporary = folder + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: temporary)
        do { try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true) } catch {
            throw RecipeError.writeFailed(path: temporary, reason: OutputFolder.reason(error))
        }
        var outputShard: String?
        if let first = recipe.passes.first, quantizesByRanges {
            // Weight-only quantization: this slice's tensor range, as shard I of N of the output checkpoint.
            log("shard \(slice): pass 1/\(recipe.passes.count): \(first.kind), output shard \(slice.index + 1) of \(slice.count)")
            let model = EditableCheckpoint(source: input)
            var context = try passContext(data: data, input: input)
            context.ledger = ledger
            context.step = "passes[0]"
            _ = try first.apply(to: model, context: context)
            do {
                try ShardedOutput.writeShards(model, to: temporary, count: slice.count, only: slice.index, inputs: input.files.map(\.path))
            } catch { try? FileManager.default.removeItem(atPath: temporary); throw error }
            outputShard = ShardedOutput.fileName(slice.index, of: slice.count)
        }
        var work = try WorkFile(fingerprint: fingerprint, parts: parts, recipe: try recipe.normalized(fingerprint: nil), ledger: ledger)
        work.outputShard = outputShard
        do {
            try work.write(to: temporary + "/" + WorkFile.fileName)
            try? FileManager.default.removeItem(atPath: folder)
            try FileManager.default.moveItem(atPath: temporary, toPath: folder)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw (error as? RecipeError) ?? RecipeError.writeFailed(path: folder, reason: OutputFolder.reason(error))
        }
        let count = ledger.items.values.reduce(0) { $0 + $1.count }
        log("shard \(slice): \(count) work items of \(ledger.items.keys.sorted().joined(separator: ", ")) → \(folder)")
        return folder
    }

    /// Joins the partial results in `folders` (one per slice, each exactly once, one fingerprint that
    /// the recipe and input still have) and finishes the run: the recipe comes from the partials,
    /// `options.output` overrides its output folder.
    public static func merge(partials folders: [String], options: Options) throws -> Result {
        guard !folders.isEmpty else { throw RecipeError.cannotMerge(reason: "no partial result folders given") }
        let works = try folders.map { try WorkFile.read($0 + "/" + WorkFile.fileName) }
        let first = works[0]
        for (folder, work) in zip(folders, works).dropFirst() where work.fingerprint != first.fingerprint {
            throw RecipeError.cannotMerge(reason: "\(folder) has fingerprint \(work.fingerprint), \(folders[0]) has \(first.fingerprint) ("
                                          + Fingerprint.changed(first.fingerprintParts, work.fingerprintParts) + " between the shards)")
        }
        let n = first.slice.count
        var seen: [Int: String] = [:]
        for (folder, work) in zip(folders, works) {
            guard work.slice.count == n else {
                throw RecipeError.cannotMerge(reason: "\(folder) is slice \(work.slice) but \(folders[0]) is slice \(first.slice): different shard counts")
            }
            if let other = seen[work.slice.index] { throw RecipeError.cannotMerge(reason: "slice \(work.slice) is given twice (\(other) and \(folder))") }
            seen[work.slice.index] = folder
        }
        let missing = (0..<n).filter { seen[$0] == nil }.map { WorkSlice(index: $0, count: n).description }
        guard missing.isEmpty else { throw RecipeError.cannotMerge(reason: "slice \(missing.joined(separator: ", ")) missing (\(folders.count) of \(n) partial results given)") }

        let recipe = try Recipe.parse(try first.recipe.data(), source: folders[0] + "/" + WorkFile.fileName)
        try recipe.validate()
        let input = try Pipeline(recipe: recipe).loadInput()
        let now = try Fingerprint.of(recipe: recipe, input: input)
        guard now == first.fingerprint else {
            throw RecipeError.cannotMerge(reason: "the shards ran with fingerprint \(first.fingerprint), now it is \(now) ("
                                          + Fingerprint.changed(first.fingerprintParts, Fingerprint.parts(recipe: recipe, input: input)) + " since)")
        }
        let ledger = WorkLedger()
        for work in works { try ledger.merge(try work.ledger()) }
        var options = options
        options.ledger = ledger
        if works.contains(where: { $0.outputShard != nil }) {
            options.outputShards = n
            for (folder, work) in zip(folders, works) {
                guard let name = work.outputShard, FileManager.default.fileExists(atPath: folder + "/" + name) else {
                    throw RecipeError.cannotMerge(reason: "\(folder) has no output shard (\(work.outputShard ?? "none recorded"))")
                }
                options.existingShards[work.slice.index] = folder + "/" + name
            }
        }
        options.log("merging \(n) partial results (\(ledger.items.values.reduce(0) { $0 + $1.count }) work items)")
        return try Pipeline(recipe: recipe, options: options).run()
    }
}

extension Pipeline {
    /// A first pass a shard can run on a tensor range: weight-only quantization (no calibration).
    static func quantizesWeightsOnly(_ pass: any Pass) -> Bool {
        type(of: pass).category == .quantization && !pass.needs.contains(.calibration) && !pass.splitsIntoWorkItems
    }
}

extension WorkSlice {
    /// `--shard` values: `I/N` (1-based), or `auto`: the scheduler's environment — a Slurm array task
    /// (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`) or a Kubernetes
    /// Indexed Job (`JOB_COMPLETION_INDEX` of `WHITTLE_SHARD_COUNT`, set from `spec.completions`).
    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> WorkSlice {
        func number(_ key: String) throws -> Int? {
            guard let raw = environment[key] else { return nil }
            guard let v = Int(raw.trimmingCharacters(in: .whitespaces)) else { throw RecipeError.invalid(jsonPath: "--shard auto", message: "\(key)=\(raw) is not an integer") }
            return v
        }
        let index: Int, count: Int
        if text == "auto" {
            if let task = try number("SLURM_ARRAY_TASK_ID") {
                guard let n = try number("SLURM_ARRAY_TASK_COUNT") else {
                    throw RecipeError.invalid(jsonPath: "--shard auto", message: "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")
                }
                index = task - (try number("SLURM_ARRAY_TASK_MIN") ?? 0); count = n
            } else if let k = try number("JOB_COMPLETION_INDEX") {
                guard let n = try number("WHITTLE_SHARD_COUNT") else {
                    throw RecipeError.invalid(jsonPath: "--shard auto", message: "JOB_COMPLETION_INDEX is set: also set WHITTLE_SHARD_COUNT to the Job's completions")
                }
                index = k; count = n
            } else {
                throw RecipeError.invalid(jsonPath: "--shard auto", message: "neither SLURM_ARRAY_TASK_ID (Slurm array job) nor JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set")
            }
        } else {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
                throw RecipeError.invalid(jsonPath: "--shard", message: "expected I/N (e.g. 2/4) or auto (got '\(text)')")
            }
            index = i - 1; count = n
        }
        guard count >= 1, (0..<count).contains(index) else {
            throw RecipeError.invalid(jsonPath: "--shard", message: "slice \(index + 1) of \(count) does not exist (expected 1 ≤ I ≤ N)")
        }
        return WorkSlice(index: index, count: count)
    }
}
