import Foundation
import Checkpoints
import Evaluation
import Models
import Reports

extension Pipeline {
    /// Writes the GGUF files of `output.export` into the output folder (`GGUFExport`: streamed,
    /// atomic), then re-reads each one (`GGUFTensorStore`, dequantized to F32) and runs the recipe's
    /// evaluation on it through our runtime, so the report shows what the file itself costs.
    func writeExports(_ model: TensorStore, folder: String, input: TensorStore, inputFiles: [String], evaluator: RecipeEvaluator,
                      before: [MetricResult]) throws -> [ExportedFile] {
        let tokenizer = FileManager.default.fileExists(atPath: recipe.model + "/tokenizer.json") ? recipe.model : nil
        let name = URL(fileURLWithPath: recipe.model).lastPathComponent
        // Our own quantized layouts (NF4, int8) are exported from their dequantized weights.
        let source = try QuantizedTensorStore(model)
        return try recipe.ggufExports.map { type in
            let file = "model-\(type.rawValue).gguf"
            options.log("exporting \(file)")
            let summary = try GGUFExport.write(source, to: folder + "/" + file, type: type, tokenizerFolder: tokenizer,
                                               tokenizerGGUF: (input as? GGUFTensorStore)?.file, name: name, inputs: inputFiles)
            let after = try evaluator.evaluateCompressed(try GGUFTensorStore(path: folder + "/" + file), after: "exports." + file).map { $0! }
            let metrics = zip(recipe.evaluation, zip(before, after)).map { spec, pair in
                MetricComparison(name: spec.displayName, original: pair.0, compressed: pair.1, higherIsBetter: spec.metric.higherIsBetter)
            }
            return ExportedFile(file: file, format: "gguf:\(type.rawValue)", bytes: summary.bytes, metrics: metrics)
        }
    }
}
