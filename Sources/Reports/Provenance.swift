import CZlib
import Foundation

/// Where a report came from: what went in, with which code, on which machine.
public struct Provenance: Codable, Equatable, Sendable {
    /// Hex fingerprint of the input model's weight files (+ recipe + data), see `fingerprint(files:)`.
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

/// A cheap content fingerprint: zlib CRC-32 and Adler-32 of each file's bytes plus its size, combined in
/// order, printed as 16 hex digits. Detects any changed byte; not a cryptographic hash.
public func fingerprint(files: [String], extra: [String] = []) -> String {
    var crc: UInt = 0, adler: UInt = 1
    for file in files {
        guard let handle = FileHandle(forReadingAtPath: file) else { continue }
        defer { try? handle.close() }
        while true {
            let chunk = handle.readData(ofLength: 1 << 22)
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { b in
                let p = b.bindMemory(to: UInt8.self).baseAddress
                crc = crc32(crc, p, UInt32(b.count)); adler = adler32(adler, p, UInt32(b.count))
            }
        }
    }
    for s in extra {
        let bytes = Array(s.utf8)
        crc = crc32(crc, bytes, UInt32(bytes.count)); adler = adler32(adler, bytes, UInt32(bytes.count))
    }
    return String(format: "%08x%08x", UInt32(truncatingIfNeeded: crc), UInt32(truncatingIfNeeded: adler))
}
