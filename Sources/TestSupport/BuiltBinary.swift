import Foundation

/// The built `compress` executable (next to the test bundle: `swift test` builds every product) run
/// as a user runs it. A missing binary is a failure: the test run built it.
public enum BuiltBinary {
    public struct Result { public let status: Int32; public let stdout: String; public let stderr: String }

    public struct Missing: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "\(path) is not built (swift test builds it; run swift build --build-tests)" }
    }

    public static func path(_ name: String = "compress") throws -> String {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/" + name
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw Missing(path: binary) }
        return binary
    }

    /// Runs `compress ARGS` in `directory` (default: the repository root) and collects its output.
    public static func run(_ arguments: [String], in directory: String = Fixtures.repoRoot) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path())
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes concurrently so neither fills up and blocks the child.
        final class Box: @unchecked Sendable { var data = Data() }   // written by one thread, read after wait()
        let stderrBox = Box(), group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { stderrBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let stderrData = stderrBox.data
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
                      stderr: String(decoding: stderrData, as: UTF8.self))
    }
}
