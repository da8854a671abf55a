import ArgumentParser
import Foundation
import Whittle

/// `compress logits --model DIR --ids 1,2,3 [--out FILE.safetensors]` (DESIGN.md §5).
struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model on token ids; write the logits or print the top-5 next tokens.")

    @Option(help: "A checkpoint folder (config.json + safetensors) or a llama.cpp .gguf file.")
    var model: String

    @Option(help: "Comma-separated token ids, e.g. 1,2,3.")
    var ids: String

    @Option(help: "Write one F32 tensor 'logits' ([T, V] for a language model, [num_labels] for a classifier).")
    var out: String?

    @OptionGroup var threading: ThreadsOption

    func validate() throws {
        let parts = ids.split(separator: ",", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.allSatisfy({ Int($0.trimmingCharacters(in: .whitespaces)) != nil }) else {
            throw ValidationError("--ids must be comma-separated integers (got '\(ids)')")
        }
    }

    func run() throws {
        try exitOnUserError {
            threading.apply()
            let tokens = ids.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! }
            let store = try openTensorStore(path: model)
            let transformer = try TransformerModel.loadCompressed(from: store)   // NF4 / int8 outputs run as written
            let output = try transformer.forward(ModelInput(tokens: [tokens]))
            let shape = Array(output.shape.dropFirst())   // drop the batch of one
            if let out {
                try SafetensorsWriter.write(to: out, tensors: ["logits": Tensor(floats: output.logits, shape: shape)],
                                            metadata: ["model": model, "ids": ids], inputs: (store as? Checkpoint)?.files.map(\.path) ?? [model])
                print("wrote logits \(shape) to \(out)")
            } else {
                print(topFive(output.logits, shape: shape, config: transformer.config, labels: store.config["id2label"] as? [String: String]))
            }
        }
    }

    func topFive(_ logits: [Float], shape: [Int], config: ModelConfig, labels: [String: String]?) -> String {
        let width = shape.last ?? 0
        let last = Array(logits.suffix(width))
        let m = last.max() ?? 0
        let exps = last.map { expf($0 - m) }
        let sum = exps.reduce(0, +)
        let ranked = last.indices.sorted { last[$0] > last[$1] }.prefix(5)
        var lines = [config.isClassifier ? "top labels:" : "top-5 next tokens after position \(shape.first.map { $0 - 1 } ?? 0):"]
        for i in ranked {
            let name = config.isClassifier ? (labels?[String(i)] ?? "label \(i)") : "id \(i)"
            lines.append(String(format: "  %@  logit %.4f  p %.4f", name, last[i], exps[i] / sum))
        }
        return lines.joined(separator: "\n")
    }
}
