import Foundation
import Checkpoints
import Passes

/// The plan `--dry-run` prints: the passes with their settings, the tensors each touches, the
/// estimated output size and the memory the run needs — without running anything. A checkpoint
/// folder is planned on its headers; a `.gguf` model on its tensor infos, sized as the pipeline sees
/// it (dequantized to F32, the output folder's dtype), with the file's own size beside.
public struct DryRun {
    public let pipeline: Pipeline
    public init(pipeline: Pipeline) { self.pipeline = pipeline }

    public func text() throws -> String {
        let recipe = pipeline.recipe
        let input = try pipeline.loadModel()
        func bytes(_ name: String) -> Int? { input.spec(name)?.byteCount }
        let parameters = input.names.compactMap { input.spec($0)?.shape.reduce(1, *) }.reduce(0, +)
        let inputBytes = input.names.compactMap(bytes).reduce(0, +)
        var size = formatBytes(inputBytes)
        if let gguf = input as? GGUFTensorStore {
            size = "file \(formatBytes(gguf.file.mapped.bytes.count)), \(formatBytes(inputBytes)) as F32"
        }
        var lines = ["model   \(recipe.model)  (\(parameters) parameters, \(size))",
                     "output  \(pipeline.outputPath)"]
        var outputBytes = inputBytes
        var largestTensor = input.names.compactMap(bytes).max() ?? 0
        for (i, pass) in recipe.passes.enumerated() {
            let settings = try JSONValue(encoding: pass)
            lines.append("pass \(i + 1)  \(pass.kind)  \(String(decoding: try settings.data(), as: UTF8.self))")
            if let plannable = pass as? any PlannablePass {
                let plan = try plannable.plan(for: input)
                let touchedBytes = plan.touchedTensors.compactMap(bytes).reduce(0, +)
                lines.append("        touches \(plan.touchedTensors.count) tensors (\(formatBytes(touchedBytes)))")
                if let after = plan.outputBytes { outputBytes += after - touchedBytes }
                for note in plan.notes { lines.append("        \(note)") }
                largestTensor = max(largestTensor, touchedBytes / max(plan.touchedTensors.count, 1))
            } else {
                lines.append("        tensors touched are known only after running (data-dependent)")
            }
            if pass.needs.contains(.calibration) { lines.append("        needs calibration data: \(recipe.calibration?.data ?? "-")") }
            if pass.needs.contains(.training) { lines.append("        trains on: \(recipe.training?.data ?? "-")") }
        }
        for spec in recipe.evaluation { lines.append("eval    \(spec.displayName): \(spec.metric.rawValue) on \(spec.source.data)") }
        lines.append(timeEstimate(parameters: parameters))
        lines.append("estimated output size  \(formatBytes(outputBytes)) (\(String(format: "%.1f", Double(outputBytes) / Double(max(inputBytes, 1)) * 100)) % of input)")
        lines.append("estimated peak memory  ≈ \(formatBytes(4 * largestTensor / 2 + 256 << 20)) for weight-only passes (one tensor in f32 + buffers); evaluation loads the model in f32: \(formatBytes(parameters * 4))")
        return lines.joined(separator: "\n")
    }
}

extension DryRun {
    /// A rough wall-clock figure for the evaluation (before and after): 2 FLOPs per parameter per
    /// token at ~20 GFLOP/s, with ~4 bytes of text per token. Data-dependent passes add to it.
    func timeEstimate(parameters: Int) -> String {
        var tokens = 0
        for spec in pipeline.recipe.evaluation {
            let bytes = (try? FileManager.default.attributesOfItem(atPath: spec.source.data)[.size] as? Int) ?? 0
            let fileTokens = bytes / 4   // text: ~4 bytes per token; token_ids: ~4 bytes per id with its space
            tokens += min(fileTokens, spec.source.maxTokens ?? Int.max)
        }
        let seconds = 2 * Double(parameters) * Double(tokens) * 2 / 20e9
        return "estimated time  evaluation ≈ \(seconds < 1 ? "under a second" : String(format: "%.0f s", seconds)) (\(tokens) tokens × 2 models)"
            + (pipeline.recipe.passes.contains { !($0 is any PlannablePass) } ? "; calibration and training passes add to it" : "")
    }
}

extension JSONValue {
    init<T: Encodable>(encoding value: T) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }
}
