import Foundation

/// Where a report came from: what went in, with which code, on which machine.
public struct Provenance: Codable, Equatable, Sendable {
    /// Fingerprint of the input model, recipe and data (the pipeline's SHA-256, `sha256:…`).
    public var inputFingerprint: String
    public var model: String
    /// The normalized recipe as JSON text (empty for a plain evaluation).
    public var recipe: String
    public var versions: [String: String]
    public var machine: Machine
    /// ISO 8601, UTC.
    public var created: String

    public init(inputFingerprint: String, model: String, recipe: String = "", versions: [String: String] = ["whittle": whittleVersion],
                machine: Machine = .current(), created: String = isoNow()) {
        self.inputFingerprint = inputFingerprint; self.model = model; self.recipe = recipe
        self.versions = versions; self.machine = machine; self.created = created
    }
}

public let whittleVersion = "0.1.0"

public struct Machine: Codable, Equatable, Sendable {
    public var os: String
    public var cpu: String
    public var cores: Int
    public var memoryBytes: Int

    public init(os: String, cpu: String, cores: Int, memoryBytes: Int) {
        self.os = os; self.cpu = cpu; self.cores = cores; self.memoryBytes = memoryBytes
    }

    public static func current() -> Machine {
        let info = ProcessInfo.processInfo
        var cpu = "unknown"
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let name = line.split(separator: ":", maxSplits: 1).last {
            cpu = name.trimmingCharacters(in: .whitespaces)
        }
        return Machine(os: info.operatingSystemVersionString, cpu: cpu, cores: info.activeProcessorCount,
                       memoryBytes: Int(info.physicalMemory))
    }
}

public func isoNow() -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: Date())
}
