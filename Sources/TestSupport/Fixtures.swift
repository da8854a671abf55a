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
