import Foundation
import TestSupport
import XCTest
@testable import compress
import Whittle

/// Progress off a terminal (issue 20): a log file gets flushed lines while the run is still going.
final class ProgressLogTests: XCTestCase {
    func testProgressLineCarriesDoneTotalRateAndETA() {
        XCTAssertEqual(progressLine(label: "optin: scores", done: 1234, total: 9288, elapsedSeconds: 725),
                       "optin: scores 1234/9288 (13%) · 12m05s elapsed · 1.70/s · ETA 1h18m")
        XCTAssertEqual(progressLine(label: "train", done: 0, total: 60, elapsedSeconds: 0), "train 0/60 (0%) · 0s elapsed")
        XCTAssertEqual(progressLine(label: "w", done: 3, total: 3, elapsedSeconds: 90), "w 3/3 (100%) · 1m30s elapsed · 30.0 s each")
        XCTAssertEqual(progressLine(label: "units", done: 1, total: 4, elapsedSeconds: 40), "units 1/4 (25%) · 40s elapsed · 40.0 s each · ETA 2m00s")
        XCTAssertEqual(progressLine(label: "tok", done: 500, total: 1000, elapsedSeconds: 2), "tok 500/1000 (50%) · 2s elapsed · 250/s · ETA 2s")
    }

    /// The binary writes to a file (not a terminal); the test reads the file while the process runs
    /// and must find a progress line of the training stage before the process exits.
    func testLogFileShowsProgressWhileTheRunIsGoing() throws {
        let run = try startRun(quiet: false, steps: 120)
        defer { if run.process.isRunning { run.process.terminate() } }
        var sawLineWhileRunning = false
        let deadline = Date().addingTimeInterval(300)
        while run.process.isRunning, Date() < deadline {
            let log = (try? String(contentsOfFile: run.log, encoding: .utf8)) ?? ""
            if log.contains("finetune: 120 steps ") && log.contains(" elapsed · ") && log.contains("ETA ") {
                sawLineWhileRunning = run.process.isRunning
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        run.process.waitUntilExit()
        let log = try String(contentsOfFile: run.log, encoding: .utf8)
        XCTAssertEqual(run.process.terminationStatus, 0, log)
        XCTAssertTrue(sawLineWhileRunning, "no progress line with ETA reached the log while the run was going:\n\(log)")
        // Each stage ends with its 100 % line: training, both evaluations, writing.
        XCTAssertTrue(log.contains("finetune: 120 steps 120/120 (100%)"), log)
        XCTAssertTrue(log.contains("held-out perplexity: perplexity windows 64/64 (100%)"), log)
        XCTAssertTrue(log.contains("writing tensors "), log)
    }

    func testQuietSilencesProgress() throws {
        let run = try startRun(quiet: true, steps: 4)
        run.process.waitUntilExit()
        let log = try String(contentsOfFile: run.log, encoding: .utf8)
        XCTAssertEqual(run.process.terminationStatus, 0, log)
        XCTAssertFalse(log.contains(" elapsed"), log)
        XCTAssertFalse(log.contains("pass 1/1"), log)
    }

    private func startRun(quiet: Bool, steps: Int) throws -> (process: Process, log: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("whittle-progress-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        let recipe = """
        {"version": 1, "model": "\(Fixtures.path("models/shakespeare-llama"))", "output": "\(folder)/out",
         "training": {"data": "\(Fixtures.path("data/shakespeare-train.txt"))", "samples": 64, "seq_len": 32, "seed": 1},
         "evaluation": [{"name": "held-out perplexity", "data": "\(Fixtures.path("data/shakespeare-valid.txt"))", "metric": "perplexity", "seq_len": 64, "max_tokens": 4096}],
         "passes": [{"pass": "finetune", "lr": 0.0001, "steps": \(steps), "batch_size": 4}]}
        """
        try recipe.write(toFile: folder + "/recipe.json", atomically: true, encoding: .utf8)
        let log = folder + "/log.txt"
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = CompressBinary.url
        process.arguments = ["--recipe", folder + "/recipe.json", "--threads", "1"] + (quiet ? ["--quiet"] : [])
        process.environment = ProcessInfo.processInfo.environment.merging(["WHITTLE_PROGRESS_SECONDS": "0.1"]) { $1 }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return (process, log)
    }
}

/// The `compress` executable built beside the test bundle.
enum CompressBinary {
    static var url: URL {
        let folder = Bundle.main.bundleURL.pathExtension == "xctest" ? Bundle.main.bundleURL.deletingLastPathComponent() : Bundle.main.bundleURL
        return folder.appendingPathComponent("compress")
    }
}
