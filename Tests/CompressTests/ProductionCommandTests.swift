import XCTest
import Whittle
import TestSupport

/// Production runs through the built `compress` binary: the gate's exit code, resume after a real
/// SIGKILL, and the Slurm end-to-end run (a 4-task array + a merge job on the local cluster of
/// deploy/slurm/start-local-cluster.sh), each compared with the uninterrupted single-process output.
final class ProductionCommandTests: KilledRunTestCase {
    /// OPTIN on stories260K (16 evaluation windows, 70 scoring items, 16 again after: 102 work items).
    func writeRecipe(gate: String? = nil, passes: String = #"[{"pass": "optin", "flops_ratio": 0.6}]"#) throws -> String {
        let tokens = Fixtures.path("eval/stories260k_samples.tokens")
        let path = scratch + "/recipe.json"
        try Data("""
        {"version": 1, "model": "\(Fixtures.path("models/stories260K"))",
         "calibration": {"data": "\(tokens)", "samples": 4, "seq_len": 32, "seed": 0},
         "evaluation": [{"name": "held-out", "data": "\(tokens)", "seq_len": 64}],
         "passes": \(passes)\(gate.map { ", \"gate\": \($0)" } ?? "")}
        """.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testViolatedGateExitsWithItsCodeAndPublishesNothing() throws {
        let binary = try compress()
        let recipe = try writeRecipe(gate: #"{"evaluation": "held-out", "max_drop": "0%"}"#, passes: #"[{"pass": "nf4"}]"#)
        let output = scratch + "/out"
        let r = try run(binary, ["--recipe", recipe, "--output", output, "--quiet"])
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("error: gate: held-out (perplexity) went from "), r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix("; output not written, report in \(output).gate-report\n"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        XCTAssertTrue(FileManager.default.fileExists(atPath: output + ".gate-report/report.json"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: output + ".gate-report/report.html"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch).sorted(), ["out.gate-report", "recipe.json"])
    }

    /// `kill -9` (a real SIGKILL, at five points: during the input's evaluation, three times while
    /// OPTIN scores, during the final evaluation), then `--resume`: the output is the uninterrupted one.
    func testResumeAfterSIGKILLGivesTheUninterruptedOutput() throws {
        let binary = try compress()
        let recipe = try writeRecipe()
        let reference = scratch + "/reference"
        XCTAssertEqual(try run(binary, ["--recipe", recipe, "--output", reference, "--quiet"]).status, 0)
        for k in [6, 30, 52, 80, 95] {
            let output = scratch + "/run\(k)"
            let killed = try run(binary, ["--recipe", recipe, "--output", output, "--quiet", "--save-every", "4", "--threads", "1"],
                                 environment: ["WHITTLE_KILL_AFTER_ITEMS": "\(k)"])
            XCTAssertTrue(killed.signal, "run \(k) was not killed: \(killed.status) \(killed.stderr)")
            let left = try FileManager.default.contentsOfDirectory(atPath: scratch).filter { $0.hasPrefix("run\(k).tmp-") }
            XCTAssertEqual(left.count, 1, "the killed run leaves its temporary folder")
            let resumed = try run(binary, ["--recipe", recipe, "--output", output, "--resume"])
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
            XCTAssertTrue(resumed.stdout.contains("resuming from \(scratch!)/\(left[0]) (pid "), resumed.stdout)
            XCTAssertTrue(resumed.stdout.contains("): \(k / 4 * 4) saved work items"), resumed.stdout)
            try assertSameOutput(output, reference, "killed after \(k) items")
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/" + left[0]))
        }
        // A killed run of a changed recipe: --resume refuses and names the change.
        let output = scratch + "/changed"
        XCTAssertTrue(try run(binary, ["--recipe", recipe, "--output", output, "--save-every", "4"], environment: ["WHITTLE_KILL_AFTER_ITEMS": "10"]).signal)
        let changed = try writeRecipe(passes: #"[{"pass": "optin", "flops_ratio": 0.5}]"#)
        let refused = try run(binary, ["--recipe", changed, "--output", output, "--resume"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.hasSuffix(": the recipe changed since it started (run without --resume to start afresh)\n"), refused.stderr)
        // Without --resume the stale folder is removed, and the run says so.
        let fresh = try run(binary, ["--recipe", changed, "--output", output])
        XCTAssertEqual(fresh.status, 0, fresh.stderr)
        XCTAssertTrue(fresh.stdout.contains("removed stale temporary folder \(output).tmp-"), fresh.stdout)
    }

    /// The same for training: `finetune` saves parameters, AdamW moments and the loss curve every
    /// `--save-every` steps; killed after steps 3, 6 and 11 of 12, the resumed runs write the
    /// uninterrupted run's weights and loss curve.
    func testFinetuneResumeAfterSIGKILLGivesTheUninterruptedOutput() throws {
        let binary = try compress()
        let tokens = Fixtures.path("eval/stories260k_samples.tokens")
        let recipe = try writeRecipe(passes: #"[{"pass": "finetune", "lr": 0.003, "steps": 12, "batch_size": 2}]"#)
        var text = try String(contentsOfFile: recipe, encoding: .utf8)
        text = text.replacingOccurrences(of: #""calibration""#, with: #""training": {"data": "\#(tokens)", "samples": 8, "seq_len": 32, "seed": 1}, "calibration""#)
        try text.write(toFile: recipe, atomically: true, encoding: .utf8)
        let reference = scratch + "/reference"
        let r = try run(binary, ["--recipe", recipe, "--output", reference, "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for k in [3, 6, 11] {
            let output = scratch + "/train\(k)"
            let killed = try run(binary, ["--recipe", recipe, "--output", output, "--quiet", "--save-every", "2"],
                                 environment: ["WHITTLE_KILL_AFTER_STEPS": "\(k)"])
            XCTAssertTrue(killed.signal, "run \(k) was not killed: \(killed.status) \(killed.stderr)")
            let left = try FileManager.default.contentsOfDirectory(atPath: scratch).filter { $0.hasPrefix("train\(k).tmp-") }
            XCTAssertEqual(left.count, 1)
            XCTAssertTrue(FileManager.default.fileExists(atPath: scratch + "/" + left[0] + "/progress/passes[0].training.safetensors"),
                          "training state saved before step \(k)")
            let resumed = try run(binary, ["--recipe", recipe, "--output", output, "--resume", "--save-every", "2"])
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
            XCTAssertTrue(resumed.stdout.contains("resuming from \(scratch!)/\(left[0])"), resumed.stdout)
            try assertSameOutput(output, reference, "finetune killed after step \(k)")
            let a = try Report.decode(bytes(output + "/report.json")), b = try Report.decode(bytes(reference + "/report.json"))
            XCTAssertEqual(a.passes[0].series.first?.values, b.passes[0].series.first?.values, "loss curve")
            XCTAssertEqual(a.passes[0].metrics["tokens"], b.passes[0].metrics["tokens"])
            XCTAssertTrue(a.passes[0].notes.contains("resumed at step \((k - 1) / 2 * 2) from the training state a killed run saved"), "\(a.passes[0].notes)")
        }
    }

    // MARK: Slurm

    func slurmRunning() -> Bool {
        guard let sinfo = ["/usr/bin/sinfo", "/usr/local/bin/sinfo"].first(where: FileManager.default.isExecutableFile(atPath:)),
              let r = try? run(sinfo, ["-h", "-o", "%T"]), r.status == 0 else { return false }
        return ["idle", "mixed", "allocated"].contains { r.stdout.contains($0) }
    }

    func jobState(_ id: String) throws -> String {
        let r = try run("/usr/bin/scontrol", ["show", "job", "-o", id])
        guard let field = r.stdout.split(separator: " ").first(where: { $0.hasPrefix("JobState=") }) else { return "UNKNOWN" }
        return String(field.dropFirst("JobState=".count))
    }

    /// Submits `recipe` as a 4-task array + merge job and waits for the merge (at most 5 minutes).
    func submitAndWait(_ recipe: String, output: String) throws -> String {
        let submit = try run("/bin/bash", [Fixtures.repoRoot + "/deploy/slurm/submit.sh", recipe, output, "4", "--chdir", scratch],
                             environment: ["COMPRESS": try compress(), "KEEP_PARTIALS": "1"])
        XCTAssertEqual(submit.status, 0, submit.stderr)
        let ids = submit.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
        guard ids.count == 2 else { XCTFail("submit.sh printed \(submit.stdout)"); return "" }
        var state = "PENDING"
        for _ in 0..<600 {
            state = try jobState(ids[1])
            if !["PENDING", "RUNNING", "CONFIGURING", "COMPLETING"].contains(state) { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        let logs = ((try? FileManager.default.contentsOfDirectory(atPath: scratch)) ?? []).filter { $0.hasSuffix(".log") }.sorted()
        let logText = logs.map { "\($0):\n" + ((try? String(contentsOfFile: scratch + "/" + $0, encoding: .utf8)) ?? "") }.joined(separator: "\n")
        XCTAssertEqual(state, "COMPLETED", "merge job \(ids[1]); logs:\n\(logText)")
        XCTAssertEqual(logs.filter { $0.hasPrefix("whittle-shard-\(ids[0])_") }.count, 4, "four array tasks ran")
        return ids[0]
    }

    /// OPTIN scores and the input's evaluation split over a 4-task array, then an NF4 run whose tasks
    /// each write one shard of a 4-shard checkpoint: the merged outputs equal the single-process ones.
    func testSlurmArrayOfFourAndMergeJobEqualTheSingleProcessRun() throws {
        guard slurmRunning() else {
            throw XCTSkip("Slurm is not running: start a local cluster with deploy/slurm/start-local-cluster.sh (as root; .ci/run does)")
        }
        let binary = try compress()
        let recipe = try writeRecipe()
        let single = scratch + "/single"
        XCTAssertEqual(try run(binary, ["--recipe", recipe, "--output", single, "--quiet"]).status, 0)
        let output = scratch + "/sharded"
        _ = try submitAndWait(recipe, output: output)
        // Each task computed its slice only; together, every item once.
        let works = try (1...4).map { try WorkFile.read("\(output).shard-\($0)-of-4/work.json") }
        XCTAssertEqual(works.map(\.slice), (0..<4).map { WorkSlice(index: $0, count: 4) })
        XCTAssertEqual(works.map { $0.items["passes[0]"]?.count ?? 0 }, [17, 18, 17, 18], "70 OPTIN items")
        XCTAssertEqual(works.map { $0.items["evaluation[0].before"]?.count ?? 0 }, [4, 4, 4, 4], "16 windows")
        try assertSameOutput(output, single, "Slurm array + merge vs one process")

        let nf4 = scratch + "/nf4.json"
        try Data(try String(contentsOfFile: recipe, encoding: .utf8).replacingOccurrences(of: #"{"pass": "optin", "flops_ratio": 0.6}"#, with: #"{"pass": "nf4"}"#).utf8)
            .write(to: URL(fileURLWithPath: nf4))
        let nf4Single = scratch + "/nf4-single"
        XCTAssertEqual(try run(binary, ["--recipe", nf4, "--output", nf4Single, "--output-shards", "4", "--quiet"]).status, 0)
        let nf4Output = scratch + "/nf4-sharded"
        _ = try submitAndWait(nf4, output: nf4Output)
        let files = (1...4).map { "model-0000\($0)-of-00004.safetensors" } + ["model.safetensors.index.json"]
        for (k, name) in files.prefix(4).enumerated() {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(nf4Output).shard-\(k + 1)-of-4/\(name)"), "task \(k + 1) wrote \(name)")
        }
        for name in files { XCTAssertEqual(try bytes(nf4Output + "/" + name), try bytes(nf4Single + "/" + name), name) }
        try assertSameOutput(nf4Output, nf4Single, "NF4 by tensor ranges", files: ["config.json", "recipe.json"])
    }
}
