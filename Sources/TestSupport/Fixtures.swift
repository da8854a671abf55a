import Foundation

/// Locations of test inputs: `fixtures/` in the repository and `../shared` beside the checkout.
public enum Fixtures {
    /// The repository root (found from this source file's path, so tests run from any folder).
    public static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }   // Sources/TestSupport/Fixtures.swift
        return url.path
    }()

    public static func path(_ relative: String) -> String { repoRoot + "/fixtures/" + relative }

    /// A committed fixture that must exist: a missing one fails the test (it is never a skip).
    public static func required(_ relative: String, regenerate: String) throws -> String {
        let p = path(relative)
        guard FileManager.default.fileExists(atPath: p) else { throw MissingFixture(path: p, regenerate: regenerate) }
        return p
    }

    public struct MissingFixture: Error, CustomStringConvertible {
        public let path: String, regenerate: String
        public init(path: String, regenerate: String) { self.path = path; self.regenerate = regenerate }
        public var description: String { "committed fixture \(path) is missing: regenerate with \(regenerate)" }
    }

    /// `../shared` (override with WHITTLE_SHARED). CI always has it.
    public static let sharedRoot: String = {
        if let env = ProcessInfo.processInfo.environment["WHITTLE_SHARED"] { return env }
        return URL(fileURLWithPath: repoRoot).deletingLastPathComponent().appendingPathComponent("shared").path
    }()

    /// A path inside `../shared`, or nil when it is absent (the caller skips and says why).
    public static func shared(_ relative: String) -> String? {
        let p = sharedRoot + "/" + relative
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    public static func readJSON(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
