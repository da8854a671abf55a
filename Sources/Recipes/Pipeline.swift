import Foundation
import Checkpoints
import Evaluation
import Passes

/// Runs a recipe: load → evaluate before → passes in order → evaluate after → write the output
/// folder atomically (DESIGN.md §3, §4). The input is never modified.
public struct Pipeline {
    public struct Options {
        public var output: String?
        public var force = false
        public var log: (String) -> Void = { _ in }
        public var progress: ProgressReporter = .silent
        public init(output: String? = nil, force: Bool = false) { self.output = output; self.force = force }
    }

    public struct Result {
        public let outputFolder: String
        public let passReports: [PassReport]
        public let before: [MetricResult]
        public let after: [MetricResult]
        public let fingerprint: String
    }

    public let recipe: Recipe
    public let options: Options

    public init(recipe: Recipe, options: Options = Options()) {
        self.recipe = recipe
        self.options = options
    }

    public var outputPath: String {
        options.output ?? recipe.output ?? (URL(fileURLWithPath: recipe.model).deletingLastPathComponent().path + "/"
            + URL(fileURLWithPath: recipe.model).lastPathComponent + "-compressed")
    }

    public func run() throws -> Result {
        let log = options.log
        let output = try OutputFolder(destination: outputPath, input: recipe.model, force: options.force)
        let input = try loadInput()
        try output.prepare()
        do {
            let data = try PipelineData(recipe: recipe, modelFolder: recipe.model)
            let evaluator = RecipeEvaluator(specs: recipe.evaluation, data: data, progress: options.progress, log: log)
            log("evaluating the input model")
            let before = try evaluator.evaluate(input)
            let model = EditableCheckpoint(source: input)
            var context = PassContext(progress: options.progress, seed: recipe.seed)
            if recipe.passes.contains(where: { $0.needs.contains(.calibration) }) {
                context.calibration = try data.calibration(recipe.calibration!)
            }
            if recipe.passes.contains(where: { $0.needs.contains(.training) }) {
                context.training = try data.calibration(recipe.training!)
            }
            if recipe.passes.contains(where: { $0.needs.contains(.teacher) }) {
                context.teacher = try recipe.teacher.map { try Checkpoint(path: $0) } ?? input
            }
            var reports: [PassReport] = []
            for (i, pass) in recipe.passes.enumerated() {
                log("pass \(i + 1)/\(recipe.passes.count): \(pass.kind)")
                let start = DispatchTime.now().uptimeNanoseconds
                var report = try pass.apply(to: model, context: context)
                report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                report.peakRSSBytes = ResourceUsage.peakRSSBytes()
                reports.append(report)
                log("  \(report.summary)")
            }
            log("evaluating the compressed model")
            let after = try evaluator.evaluate(model)
            log("writing \(output.destination)")
            try output.writeModel(model, inputFiles: input.files.map(\.path))
            try output.copyFiles(from: recipe.model)
            let fingerprint = try Fingerprint.of(recipe: recipe, input: input)
            try output.write(try recipe.normalized(fingerprint: fingerprint).data(pretty: true), to: "recipe.json")
            let summary = try RunSummary(recipe: recipe, fingerprint: fingerprint, input: input, output: model,
                                     before: before, after: after, passes: reports)
            try summary.write(into: output)
            try output.commit()
            return Result(outputFolder: output.destination, passReports: reports, before: before, after: after,
                          fingerprint: fingerprint)
        } catch {
            output.abandon()
            throw error
        }
    }

    func loadInput() throws -> Checkpoint {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: recipe.model, isDirectory: &isFolder) else {
            throw RecipeError.invalid(jsonPath: "model", message: "\(recipe.model): no such checkpoint folder")
        }
        guard isFolder.boolValue else {
            throw RecipeError.invalid(jsonPath: "model", message: "\(recipe.model): expected a checkpoint folder (config.json + model.safetensors)")
        }
        return try Checkpoint(path: recipe.model)
    }
}

/// Peak resident memory of this process (VmHWM), in bytes.
public enum ResourceUsage {
    public static func peakRSSBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first
            return kb.map { $0 * 1024 }
        }
        return nil
    }
}
