import Foundation
import Checkpoints
import Models

/// Writes the output checkpoint folder (DESIGN.md §4) atomically: everything goes into a temporary
/// sibling folder, which replaces the destination only when complete.
public struct OutputFolder {
    /// Files copied unchanged from the input folder when present.
    public static let copiedFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
                                     "vocab.json", "merges.txt", "tokenizer.model", "generation_config.json", "added_tokens.json"]

    public let destination: String
    public let temporary: String

    /// Checks the destination before any work: not inside the input, not existing unless `force`.
    public init(destination: String, input: String, force: Bool) throws {
        let out = URL(fileURLWithPath: destination).standardized.path
        let inp = URL(fileURLWithPath: input).standardized.path
        if out == inp || out.hasPrefix(inp + "/") { throw RecipeError.outputInsideInput(output: out, input: inp) }
        if FileManager.default.fileExists(atPath: out) && !force { throw RecipeError.outputExists(path: out) }
        self.destination = out
        self.temporary = out + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// Creates the temporary folder (and missing parents); permission problems surface here, before any work.
    public func prepare() throws {
        try? FileManager.default.removeItem(atPath: temporary)
        do { try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true) } catch {
            throw RecipeError.writeFailed(path: temporary, reason: "cannot create the output folder (\(Self.reason(error)))")
        }
    }

    /// Streams the model's tensors into `model.safetensors` and writes `config.json`.
    public func writeModel(_ model: TensorStore, inputFiles: [String], progress: ProgressReporter = .silent) throws {
        do {
            try progress.stage("writing tensors", total: model.names.count) { update in
                try CheckpointFolderWriter.write(model, to: temporary, inputs: inputFiles, written: update)
            }
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw RecipeError.writeFailed(path: temporary, reason: Self.reason(error))
        }
    }

    public func copyFiles(from input: String) throws {
        for name in OutputFolder.copiedFiles {
            let source = input + "/" + name
            guard FileManager.default.fileExists(atPath: source) else { continue }
            do { try FileManager.default.copyItem(atPath: source, toPath: temporary + "/" + name) } catch {
                throw RecipeError.writeFailed(path: temporary + "/" + name, reason: Self.reason(error))
            }
        }
    }

    public func writeJSON(_ object: Any, to name: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try write(data, to: name)
    }

    public func write(_ data: Data, to name: String) throws {
        let path = temporary + "/" + name
        do { try data.write(to: URL(fileURLWithPath: path)) } catch {
            throw RecipeError.writeFailed(path: path, reason: Self.reason(error))
        }
    }

    /// Moves the finished folder into place (replacing an old output when forced).
    public func commit() throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: gateReportFolder)   // an earlier run's verdict no longer applies
        if fm.fileExists(atPath: destination) {
            let old = destination + ".old-\(ProcessInfo.processInfo.processIdentifier)"
            do {
                try fm.moveItem(atPath: destination, toPath: old)
                try fm.moveItem(atPath: temporary, toPath: destination)
                try? fm.removeItem(atPath: old)
            } catch { throw RecipeError.writeFailed(path: destination, reason: Self.reason(error)) }
        } else {
            do { try fm.moveItem(atPath: temporary, toPath: destination) } catch {
                throw RecipeError.writeFailed(path: destination, reason: Self.reason(error))
            }
        }
    }

    /// Where a run that failed its gate leaves its report: `<output>.gate-report/`.
    public var gateReportFolder: String { destination + ".gate-report" }

    /// Moves the report files (and `recipe.json`) of the temporary folder to `gateReportFolder`, replacing an old one.
    public func keepReport() throws -> String {
        let fm = FileManager.default, folder = gateReportFolder
        do {
            try? fm.removeItem(atPath: folder)
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for name in try fm.contentsOfDirectory(atPath: temporary) where name.hasPrefix("report") || name == "charts" || name == "recipe.json" {
                try fm.moveItem(atPath: temporary + "/" + name, toPath: folder + "/" + name)
            }
        } catch { throw RecipeError.writeFailed(path: folder, reason: Self.reason(error)) }
        return folder
    }

    /// Removes the temporary folder after a failure: no half-written output is left behind.
    public func abandon() { try? FileManager.default.removeItem(atPath: temporary) }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        if let checkpointError = error as? CheckpointError { return checkpointError.description }
        return ns.localizedDescription
    }
}
