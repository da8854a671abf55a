import XCTest
import Checkpoints
import Datasets
import Evaluation
import Passes
import Reports
@testable import Recipes
import TestSupport

/// Production runs on the shipped stories260K model: the accuracy gate, stale temporary folders,
/// sharding + merge (byte-identical to one process) and resume from saved progress.
final class ProductionRunTests: XCTestCase {
    var scratch: String!

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "whittle-production-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    static let tokens = Fixtures.path("eval/stories260k_samples.tokens")

    /// OPTIN at 60 % MACs with perplexity (64-token windows: 16 of them) as evaluation; 16 + 70 + 16 work items.
    func optinRecipe(output: String, gate: Gate? = nil) -> Recipe {
        var r = Recipe(model: Fixtures.path("models/stories260K"), output: output,
                       calibration: DataSource(data: Self.tokens, samples: 4, seqLen: 32, seed: 0),
                       evaluation: [EvaluationSpec(name: "held-out", metric: .perplexity, source: DataSource(data: Self.tokens, seqLen: 64))],
                       passes: [OptinPruning(flopsRatio: 0.6)])
        r.gate = gate
        return r
    }

    func nf4Recipe(output: String, gate: Gate?) -> Recipe {
        var r = Recipe(model: Fixtures.path("models/stories260K"), output: output,
                       evaluation: [EvaluationSpec(name: "held-out", metric: .perplexity, source: DataSource(data: Self.tokens, seqLen: 128))],
                       passes: [NF4Quantization()])
        r.gate = gate
        return r
    }

    func terms(_ ledger: WorkLedger) throws -> [Int: [TrajectoryTerms]] {
        try Dictionary(uniqueKeysWithValues: (ledger.items["passes[0]"] ?? [:]).map { ($0.key, try JSONDecoder().decode([TrajectoryTerms].self, from: $0.value)) })
    }

    func windows(_ ledger: WorkLedger, _ step: String) throws -> [Int: EvaluationItem] {
        try Dictionary(uniqueKeysWithValues: (ledger.items[step] ?? [:]).map { ($0.key, try JSONDecoder().decode(EvaluationItem.self, from: $0.value)) })
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func contents(_ folder: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted() }

    // MARK: gate

    func testGateViolatedKeepsTheReportAndPublishesNothing() throws {
        let output = scratch + "/out"
        // NF4 raises perplexity; an absolute max_drop of 0 must refuse it.
        let pipeline = Pipeline(recipe: nf4Recipe(output: output, gate: Gate(evaluation: "held-out", maxDrop: .absolute(0))))
        var violation: GateViolation?
        XCTAssertThrowsError(try pipeline.run()) { violation = $0 as? GateViolation }
        let v = try XCTUnwrap(violation, "expected a GateViolation")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "the output folder must not be published")
        XCTAssertEqual(contents(scratch), ["out.gate-report"], "no temporary folder left behind")
        XCTAssertEqual(v.reportFolder, output + ".gate-report")
        let report = try Report.decode(bytes(output + ".gate-report/report.json"))
        XCTAssertEqual(report.comparisons[0].original, v.original)
        XCTAssertEqual(report.comparisons[0].compressed, v.compressed)
        XCTAssertGreaterThan(v.compressed, v.original, "perplexity rose")
        XCTAssertEqual(v.drop, v.compressed - v.original, "lower-is-better metric: the drop is the rise")
        XCTAssertTrue(v.description.contains("held-out (perplexity)"), v.description)

        // The same rise as a relative limit just above it passes and publishes; the stale report goes.
        let relative = (v.compressed - v.original) / v.original
        let passing = Pipeline(recipe: nf4Recipe(output: output, gate: Gate(evaluation: "held-out", maxDrop: .relative(relative * 1.01))))
        _ = try passing.run()
        XCTAssertEqual(contents(scratch), ["out"])
        // And just below it fails again.
        let failing = Pipeline(recipe: nf4Recipe(output: scratch + "/out2", gate: Gate(evaluation: "held-out", maxDrop: .relative(relative * 0.99))))
        XCTAssertThrowsError(try failing.run()) { XCTAssertTrue($0 is GateViolation, "\($0)") }
    }

    func testGateDirectionFollowsTheMetric() {
        let gate = Gate(evaluation: "x", maxDrop: .absolute(0.01))
        XCTAssertNil(gate.check(original: 0.90, compressed: 0.895, higherIsBetter: true, metric: "accuracy"))
        XCTAssertNotNil(gate.check(original: 0.90, compressed: 0.88, higherIsBetter: true, metric: "accuracy"))
        XCTAssertNil(gate.check(original: 0.90, compressed: 0.99, higherIsBetter: true, metric: "accuracy"), "a gain never violates")
        XCTAssertNotNil(gate.check(original: 10, compressed: 10.02, higherIsBetter: false, metric: "perplexity"))
        XCTAssertNil(gate.check(original: 10, compressed: 9, higherIsBetter: false, metric: "perplexity"))
        let relative = Gate(evaluation: "x", maxDrop: .relative(0.02))
        XCTAssertNil(relative.check(original: 20, compressed: 20.3, higherIsBetter: false, metric: "perplexity"))
        XCTAssertNotNil(relative.check(original: 20, compressed: 20.5, higherIsBetter: false, metric: "perplexity"))
    }

    func testGateKeysAreDecodedStrictly() throws {
        func parse(_ gate: String) throws -> Recipe {
            var r = try Recipe.parse(Data("""
            {"version": 1, "model": "m", "evaluation": [{"name": "dev", "data": "d.tokens"}], "passes": [], "gate": \(gate)}
            """.utf8))
            try r.validate()
            r.output = nil
            return r
        }
        XCTAssertEqual(try parse(#"{"evaluation": "dev", "max_drop": 0.5}"#).gate, Gate(evaluation: "dev", maxDrop: .absolute(0.5)))
        XCTAssertEqual(try parse(#"{"evaluation": "dev", "max_drop": "2.5%"}"#).gate, Gate(evaluation: "dev", maxDrop: .relative(0.025)))
        func error(_ gate: String) -> String {
            do { _ = try parse(gate); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertEqual(error(#"{"evaluation": "dev", "max_drop": 1, "min": 2}"#), "gate: unknown key 'min' (valid keys: evaluation, max_drop)")
        XCTAssertEqual(error(#"{"evaluation": "dev"}"#), "gate.max_drop: required: a non-negative number (absolute) or a percentage like \"2%\" (relative)")
        XCTAssertEqual(error(#"{"evaluation": "dev", "max_drop": -1}"#), "gate.max_drop: expected a non-negative number (absolute) or a percentage like \"2%\" (relative)")
        XCTAssertEqual(error(#"{"evaluation": "dev", "max_drop": "2"}"#), "gate.max_drop: expected a non-negative number (absolute) or a percentage like \"2%\" (relative) (got \"2\")")
        XCTAssertEqual(error(#"{"evaluation": "test", "max_drop": 1}"#), "gate.evaluation: no evaluation entry named 'test' (entries: dev)")
        XCTAssertEqual(error(#"{"max_drop": 1}"#), "gate.evaluation: required: the name of an evaluation entry")
        XCTAssertEqual(error(#"[1]"#), "gate: expected an object {\"evaluation\": NAME, \"max_drop\": X}")
        // The gate is part of the normalized recipe (and so of the fingerprint).
        let normalized = try parse(#"{"evaluation": "dev", "max_drop": "2%"}"#).normalized(fingerprint: nil)
        XCTAssertEqual(normalized.object?["gate"], .object(["evaluation": .string("dev"), "max_drop": .string("2%")]))
    }

    // MARK: stale temporary folders

    /// The PID of a process that has exited.
    func deadPID() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run(); p.waitUntilExit()
        return p.processIdentifier
    }

    func testStaleTemporaryFoldersOfDeadProcessesAreRemovedAndLiveOnesKept() throws {
        let output = scratch + "/out"
        let dead = try deadPID()
        // A killed run's folder (marker + some bytes), one without a marker, and one of a live process (this one's parent).
        let stale = output + ".tmp-\(dead)"
        try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
        var marker = RunMarker.current(fingerprint: "sha256:old", parts: [:])
        marker.pid = dead; marker.started = "1"
        try JSONEncoder().encode(marker).write(to: URL(fileURLWithPath: stale + "/" + RunMarker.fileName))
        try Data(count: 1000).write(to: URL(fileURLWithPath: stale + "/model.safetensors"))
        let unmarked = output + ".tmp-\(try deadPID())"
        try FileManager.default.createDirectory(atPath: unmarked, withIntermediateDirectories: true)
        let live = output + ".tmp-\(getppid())"
        try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: true)

        var lines: [String] = []
        var options = Pipeline.Options()
        options.log = { lines.append($0) }
        _ = try Pipeline(recipe: nf4Recipe(output: output, gate: nil), options: options).run()
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertFalse(FileManager.default.fileExists(atPath: unmarked))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live), "a live process's folder is never touched")
        XCTAssertTrue(lines.contains("removed stale temporary folder \(stale) (0.0 MB, pid \(dead) is gone)"), "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("removed stale temporary folder \(unmarked)") }, "\(lines)")
        XCTAssertTrue(lines.contains("leaving \(live): its process is still running (or ran on another host)"), "\(lines)")
    }

    // MARK: sharding

    func testFourShardsMergedEqualTheSingleProcessRunByteForByte() throws {
        // One recipe (its output is part of the fingerprint); the single-process run writes elsewhere.
        let recipe = optinRecipe(output: scratch + "/sharded")
        let single = try Pipeline(recipe: recipe, options: Pipeline.Options(output: scratch + "/single")).run()
        let folders = try (0..<4).map { try Pipeline(recipe: recipe).runShard(WorkSlice(index: $0, count: 4)) }
        XCTAssertEqual(folders, (1...4).map { scratch + "/sharded.shard-\($0)-of-4" })
        // Each shard holds only its slice: about a quarter of the 70 OPTIN items (40 heads, 30 neuron batches) and of the 16 windows.
        let works = try folders.map { try WorkFile.read($0 + "/work.json") }
        XCTAssertEqual(works.map { $0.items["passes[0]"]?.count ?? 0 }, [17, 18, 17, 18])
        XCTAssertEqual(works.map { $0.items["evaluation[0].before"]?.count ?? 0 }, [4, 4, 4, 4])
        let merged = try Pipeline.merge(partials: folders.reversed(), options: Pipeline.Options())

        for name in ["model.safetensors", "config.json", "recipe.json"] {
            XCTAssertEqual(try bytes(merged.outputFolder + "/" + name), try bytes(single.outputFolder + "/" + name), name)
        }
        XCTAssertEqual(merged.report.comparisons, single.report.comparisons, "perplexity before and after, bit for bit")
        XCTAssertEqual(try terms(merged.ledger), try terms(single.ledger), "every OPTIN unit score, bit for bit")
        XCTAssertEqual(try terms(merged.ledger).count, 70)
        XCTAssertEqual(try windows(merged.ledger, "evaluation[0].before"), try windows(single.ledger, "evaluation[0].before"))
        func measured(_ r: Report) -> [[String: Double]] { r.passes.map { $0.metrics.filter { $0.key != "measured_speedup" } } }
        XCTAssertEqual(measured(merged.report), measured(single.report))
    }

    /// NF4 by tensor ranges: each shard writes one shard of the output checkpoint (and its input-evaluation
    /// windows); the merge links them in. Every file equals the single-process run's with `outputShards: 4`.
    func testFourNF4ShardsMergeIntoTheSingleProcessShardedCheckpoint() throws {
        let recipe = nf4Recipe(output: scratch + "/sharded", gate: nil)
        var options = Pipeline.Options(output: scratch + "/single")
        options.outputShards = 4
        let single = try Pipeline(recipe: recipe, options: options).run()
        let folders = try (0..<4).map { try Pipeline(recipe: recipe).runShard(WorkSlice(index: $0, count: 4)) }
        for (k, folder) in folders.enumerated() {
            XCTAssertEqual(contents(folder), ["model-0000\(k + 1)-of-00004.safetensors", "work.json"])
        }
        let merged = try Pipeline.merge(partials: folders, options: Pipeline.Options())
        let names = (1...4).map { "model-0000\($0)-of-00004.safetensors" } + ["model.safetensors.index.json", "config.json", "recipe.json"]
        for name in names {
            XCTAssertEqual(try bytes(merged.outputFolder + "/" + name), try bytes(single.outputFolder + "/" + name), name)
        }
        XCTAssertFalse(contents(merged.outputFolder).contains("model.safetensors"))
        XCTAssertEqual(merged.report.comparisons, single.report.comparisons)
        XCTAssertEqual(merged.report.passes[0].tensors, single.report.passes[0].tensors, "reconstruction errors measured by the shards")
        XCTAssertEqual(merged.report.passes[0].metrics, single.report.passes[0].metrics)
        // The sharded checkpoint holds what the one-file run holds.
        let oneFile = try Pipeline(recipe: recipe, options: Pipeline.Options(output: scratch + "/one-file")).run()
        let a = try Checkpoint(path: oneFile.outputFolder), b = try Checkpoint(path: merged.outputFolder)
        XCTAssertEqual(a.names.sorted(), b.names.sorted())
        for name in a.names { XCTAssertEqual(Array(try a.tensor(name).bytes), Array(try b.tensor(name).bytes), name) }
        XCTAssertEqual(oneFile.report.comparisons, merged.report.comparisons)
    }

    func testMergeRefusesMissingDuplicateAndForeignSlices() throws {
        let recipe = optinRecipe(output: scratch + "/out")
        let pipeline = Pipeline(recipe: recipe)
        let a = try pipeline.runShard(WorkSlice(index: 0, count: 3)), b = try pipeline.runShard(WorkSlice(index: 1, count: 3))
        func error(_ folders: [String]) -> String {
            do { _ = try Pipeline.merge(partials: folders, options: Pipeline.Options()); return "merged" } catch { return "\(error)" }
        }
        XCTAssertEqual(error([a, b]), "cannot merge: slice 3/3 missing (2 of 3 partial results given)")
        let copy = scratch + "/copy"
        try FileManager.default.copyItem(atPath: b, toPath: copy)
        XCTAssertEqual(error([a, b, copy]), "cannot merge: slice 2/3 is given twice (\(b) and \(copy))")
        // A shard of another recipe (a different flops_ratio) has another fingerprint.
        var other = recipe
        other.passes = [OptinPruning(flopsRatio: 0.5)]
        let c = try Pipeline(recipe: other).runShard(WorkSlice(index: 2, count: 3))
        XCTAssertTrue(error([a, b, c]).hasPrefix("cannot merge: \(c) has fingerprint sha256:"), error([a, b, c]))
        XCTAssertTrue(error([a, b, c]).hasSuffix("(the recipe changed between the shards)"), error([a, b, c]))
        // Shards of different counts.
        let d = try pipeline.runShard(WorkSlice(index: 1, count: 2))
        XCTAssertEqual(error([a, d]), "cannot merge: \(d) is slice 2/2 but \(a) is slice 1/3: different shard counts")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/out"), "nothing published")
    }

    func testShardArgumentsAndSchedulerEnvironments() throws {
        XCTAssertEqual(try WorkSlice.parse("2/4", environment: [:]), WorkSlice(index: 1, count: 4))
        XCTAssertEqual(try WorkSlice.parse("auto", environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0"]),
                       WorkSlice(index: 3, count: 4))
        XCTAssertEqual(try WorkSlice.parse("auto", environment: ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"]),
                       WorkSlice(index: 3, count: 4), "--array=1-4 numbers tasks from 1")
        XCTAssertEqual(try WorkSlice.parse("auto", environment: ["JOB_COMPLETION_INDEX": "0", "WHITTLE_SHARD_COUNT": "8"]), WorkSlice(index: 0, count: 8))
        func error(_ text: String, _ env: [String: String] = [:]) -> String {
            do { return "\(try WorkSlice.parse(text, environment: env))" } catch { return "\(error)" }
        }
        XCTAssertEqual(error("5/4"), "--shard: slice 5 of 4 does not exist (expected 1 ≤ I ≤ N)")
        XCTAssertEqual(error("0/4"), "--shard: slice 0 of 4 does not exist (expected 1 ≤ I ≤ N)")
        XCTAssertEqual(error("two"), "--shard: expected I/N (e.g. 2/4) or auto (got 'two')")
        XCTAssertEqual(error("auto"), "--shard auto: neither SLURM_ARRAY_TASK_ID (Slurm array job) nor JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set")
        XCTAssertEqual(error("auto", ["JOB_COMPLETION_INDEX": "1"]), "--shard auto: JOB_COMPLETION_INDEX is set: also set WHITTLE_SHARD_COUNT to the Job's completions")
        // Slices cover every item exactly once.
        for n in [1, 3, 4, 7] {
            XCTAssertEqual((0..<n).flatMap { Array(WorkSlice(index: $0, count: n).range(of: 19)) }, Array(0..<19))
        }
    }

    // MARK: resume

    /// A run whose process dies after k computed items (its last save is what survives) resumes to the
    /// uninterrupted output. Here the "death" is an error thrown by the progress hook, leaving the
    /// temporary folder as a SIGKILL would (the CLI test kills a real process).
    func testResumedRunsEqualTheUninterruptedRun() throws {
        let reference = try Pipeline(recipe: optinRecipe(output: scratch + "/reference")).run()
        for k in [2, 40] {
            let output = scratch + "/run\(k)"
            // Fake a death: copy the progress the run saved, then restore it under a dead PID with the run's marker.
            var saved: (marker: Data, work: Data)?
            var options = Pipeline.Options()
            options.saveEvery = 4
            options.afterRecord = { count in
                guard count == k, saved == nil else { return }
                let tmp = output + ".tmp-\(getpid())"
                saved = (try! self.bytes(tmp + "/" + RunMarker.fileName), (try? self.bytes(tmp + "/work.json")) ?? Data())
            }
            _ = try Pipeline(recipe: optinRecipe(output: output), options: options).run()
            try FileManager.default.removeItem(atPath: output)
            let dead = try deadPID()
            let tmp = output + ".tmp-\(dead)"
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
            var marker = try JSONDecoder().decode(RunMarker.self, from: try XCTUnwrap(saved).marker)
            marker.pid = dead
            try JSONEncoder().encode(marker).write(to: URL(fileURLWithPath: tmp + "/" + RunMarker.fileName))
            if !saved!.work.isEmpty { try saved!.work.write(to: URL(fileURLWithPath: tmp + "/work.json")) }

            var lines: [String] = []
            var resume = Pipeline.Options()
            resume.resume = true
            resume.log = { lines.append($0) }
            let resumed = try Pipeline(recipe: optinRecipe(output: output), options: resume).run()
            let savedItems = k / 4 * 4
            let expected = savedItems == 0 ? "--resume: \(tmp) saved no progress yet; starting from the beginning"
                                           : "resuming from \(tmp) (pid \(dead) is gone): \(savedItems) saved work items"
            XCTAssertTrue(lines.contains(expected), "\(k): \(lines.prefix(3))")
            XCTAssertEqual(try bytes(output + "/model.safetensors"), try bytes(reference.outputFolder + "/model.safetensors"), "kill after \(k)")
            XCTAssertEqual(resumed.report.comparisons, reference.report.comparisons)
            XCTAssertEqual(try terms(resumed.ledger), try terms(reference.ledger))
            XCTAssertFalse(FileManager.default.fileExists(atPath: tmp))
        }
    }

    func testResumeRefusesAChangedRecipeAndNamesWhy() throws {
        let output = scratch + "/out"
        let dead = try deadPID()
        let tmp = output + ".tmp-\(dead)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let recipe = optinRecipe(output: output)
        let input = try Checkpoint(path: recipe.model)
        var old = recipe
        old.passes = [OptinPruning(flopsRatio: 0.5)]
        var marker = RunMarker.current(fingerprint: try Fingerprint.of(recipe: old, input: input), parts: Fingerprint.parts(recipe: old, input: input))
        marker.pid = dead
        try JSONEncoder().encode(marker).write(to: URL(fileURLWithPath: tmp + "/" + RunMarker.fileName))
        var options = Pipeline.Options()
        options.resume = true
        XCTAssertThrowsError(try Pipeline(recipe: recipe, options: options).run()) {
            XCTAssertEqual("\($0)", "cannot resume from \(tmp): the recipe changed since it started (run without --resume to start afresh)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp), "a refused resume keeps the folder")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }

    func testStreamingDoesNotChangeTheFingerprintButTheBudgetDoes() throws {
        let recipe = optinRecipe(output: scratch + "/out")
        let input = try Checkpoint(path: recipe.model)
        var streamed = recipe, other = recipe
        var pass = OptinPruning(flopsRatio: 0.6)
        pass.streaming = true
        streamed.passes = [pass]
        other.passes = [OptinPruning(flopsRatio: 0.5)]
        let base = try Fingerprint.of(recipe: recipe, input: input)
        XCTAssertEqual(try Fingerprint.of(recipe: streamed, input: input), base, "streaming changes how, not what: a run may resume with it toggled")
        XCTAssertNotEqual(try Fingerprint.of(recipe: other, input: input), base)
        XCTAssertEqual(Fingerprint.changed(Fingerprint.parts(recipe: recipe, input: input), Fingerprint.parts(recipe: other, input: input)), "the recipe changed")
    }
}
