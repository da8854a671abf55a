import Foundation
import Passes

/// Who owns a temporary output folder (`<output>.tmp-PID/.whittle-run.json`, written when the folder
/// is created): a later run tells a folder of a live process from one a killed run left behind.
public struct RunMarker: Codable, Equatable {
    public static let fileName = ".whittle-run.json"
    public var pid: Int32
    public var host: String
    /// The process's start time (`/proc/PID/stat` field 22), so a reused PID is not taken for the owner.
    public var started: String?
    public var fingerprint: String
    public var fingerprintParts: [String: String]

    enum CodingKeys: String, CodingKey { case pid, host, started, fingerprint, fingerprintParts = "fingerprint_parts" }

    public static func current(fingerprint: String, parts: [String: String]) -> RunMarker {
        let pid = ProcessInfo.processInfo.processIdentifier
        return RunMarker(pid: pid, host: ProcessInfo.processInfo.hostName, started: processStart(pid), fingerprint: fingerprint, fingerprintParts: parts)
    }

    /// Whether the owner still runs: nil when it ran on another host (cannot tell).
    public var ownerAlive: Bool? {
        guard host == ProcessInfo.processInfo.hostName else { return nil }
        return Self.isAlive(pid, started: started)
    }

    static func isAlive(_ pid: Int32, started: String?) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let started else { return true }
        return processStart(pid) == started
    }

    static func processStart(_ pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3, starttime field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }
}

/// A temporary folder `<output>.tmp-PID` of an earlier run whose process is gone.
public struct StaleTemporary {
    public let path: String
    public let pid: Int32
    public let marker: RunMarker?
    /// The saved progress (`work.json`), if any.
    public var work: WorkFile? { try? WorkFile.read(path + "/" + WorkFile.fileName) }

    public var bytes: Int {
        let fm = FileManager.default
        return (fm.enumerator(atPath: path)?.allObjects as? [String] ?? []).reduce(0) {
            $0 + ((try? fm.attributesOfItem(atPath: path + "/" + $1)[.size] as? Int) ?? 0)
        }
    }

    /// The temporary folders beside `destination` of processes that no longer run (on this host).
    /// A folder of a live process, or one written on another host, is left alone and reported in `busy`.
    public static func find(destination: String) -> (stale: [StaleTemporary], busy: [String]) {
        let url = URL(fileURLWithPath: destination)
        let parent = url.deletingLastPathComponent().path, prefix = url.lastPathComponent + ".tmp-"
        let ownPID = ProcessInfo.processInfo.processIdentifier
        var stale: [StaleTemporary] = [], busy: [String] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).sorted() where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), pid != ownPID else { continue }
            let path = parent + "/" + name
            let marker = (FileManager.default.contents(atPath: path + "/" + RunMarker.fileName)).flatMap { try? JSONDecoder().decode(RunMarker.self, from: $0) }
            let alive: Bool? = marker == nil ? RunMarker.isAlive(pid, started: nil) : marker!.ownerAlive
            if alive == false { stale.append(StaleTemporary(path: path, pid: pid, marker: marker)) } else { busy.append(path) }
        }
        return (stale, busy)
    }
}

/// What a run does with the temporary folders earlier runs of the same output left behind: removes
/// those of dead processes, or with `--resume` takes the saved progress of the one with this run's
/// fingerprint (refusing, and naming what changed, when only other fingerprints are there). It says which.
struct StaleRuns {
    let destination: String
    let fingerprint: String
    let parts: [String: String]
    let resume: Bool
    let log: (String) -> Void

    /// Returns the folder resumed from (kept: its `progress/` moves into the new temporary folder), if any.
    @discardableResult
    func recover(into ledger: WorkLedger) throws -> String? {
        let (stale, busy) = StaleTemporary.find(destination: destination)
        for path in busy { log("leaving \(path): its process is still running (or ran on another host)") }
        var resumed: String?
        if resume {
            let same = stale.filter { $0.marker?.fingerprint == fingerprint }
            if let matching = same.first(where: { $0.work?.fingerprint == fingerprint }), let work = matching.work {
                try ledger.merge(try work.ledger())
                let count = work.items.values.reduce(0) { $0 + $1.count }
                log("resuming from \(matching.path) (pid \(matching.pid) is gone): \(count) saved work items")
                resumed = matching.path
            } else if let first = same.first(where: { FileManager.default.fileExists(atPath: $0.path + "/progress") }) {
                log("resuming from \(first.path) (pid \(first.pid) is gone): its training state")
                resumed = first.path
            } else if let first = same.first {
                log("--resume: \(first.path) saved no progress yet; starting from the beginning")
            } else if let other = stale.first(where: { $0.marker != nil }), let marker = other.marker {
                throw RecipeError.cannotResume(path: other.path, reason: Fingerprint.changed(marker.fingerprintParts, parts) + " since it started")
            } else {
                log("--resume: no earlier run of \(destination) to resume; starting from the beginning")
            }
        }
        for s in stale {
            let size = String(format: "%.1f MB", Double(s.bytes) / 1e6)
            let hint = s.marker?.fingerprint == fingerprint && s.work != nil ? "; --resume would have continued it" : ""
            if s.path == resumed { continue }
            try? FileManager.default.removeItem(atPath: s.path)
            log("removed stale temporary folder \(s.path) (\(size), pid \(s.pid) is gone\(hint))")
        }
        return resumed
    }
}
