import XCTest
import Whittle
import TestSupport

/// The built `compress` run as a user runs it, killed with a real SIGKILL and resumed: the helpers the
/// resume tests share (ProductionCommandTests, ResumeEveryPassTests). No tests of its own.
class KilledRunTestCase: XCTestCase {
    var scratch: String!

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "whittle-production-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    func compress() throws -> String {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/compress"
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("\(binary) not built") }
        return binary
    }

    @discardableResult
    func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, signal: Bool, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal,
                String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func assertSameOutput(_ a: String, _ b: String, _ message: String, files: [String] = ["model.safetensors", "config.json", "recipe.json"],
                          file: StaticString = #filePath, line: UInt = #line) throws {
        for name in files {
            XCTAssertEqual(try bytes(a + "/" + name), try bytes(b + "/" + name), "\(message): \(name)", file: file, line: line)
        }
        let ra = try Report.decode(bytes(a + "/report.json")), rb = try Report.decode(bytes(b + "/report.json"))
        XCTAssertEqual(ra.comparisons, rb.comparisons, "\(message): evaluation", file: file, line: line)
    }

    /// Runs `recipe` until the fault injection `variable` (WHITTLE_KILL_AFTER_ITEMS / _STEPS) = `k` kills it
    /// with SIGKILL, then again with `--resume`; checks that the killed run left its temporary folder,
    /// that the resumed one said it resumed from it and removed it. Returns the resumed run's stdout.
    @discardableResult
    func killThenResume(_ recipe: String, output: String, variable: String, at k: Int, arguments: [String] = [],
                        file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let binary = try compress()
        let name = URL(fileURLWithPath: output).lastPathComponent
        let killed = try run(binary, ["--recipe", recipe, "--output", output, "--quiet"] + arguments, environment: [variable: "\(k)"])
        XCTAssertTrue(killed.signal, "\(name): not killed: \(killed.status) \(killed.stderr)", file: file, line: line)
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch).filter { $0.hasPrefix(name + ".tmp-") }
        XCTAssertEqual(left.count, 1, "\(name): the killed run leaves its temporary folder", file: file, line: line)
        let resumed = try run(binary, ["--recipe", recipe, "--output", output, "--resume"] + arguments)
        XCTAssertEqual(resumed.status, 0, resumed.stderr, file: file, line: line)
        XCTAssertTrue(resumed.stdout.contains("resuming from \(scratch!)/\(left.first ?? "?")"), resumed.stdout, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/" + (left.first ?? "?")), file: file, line: line)
        return resumed.stdout
    }
}
