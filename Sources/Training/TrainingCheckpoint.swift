import Checkpoints
import Foundation
import Tensors

/// Training checkpoints: one safetensors file with every parameter (`param.<name>`), the optimizer
/// state (`adam_m.<name>`, `adam_v.<name>`, `sgd_momentum.<name>`) and the loss curve, with the step
/// count in the metadata. `resume(from:)` restores all of it, so a run continues where it stopped.
extension Trainer {
    public func save(to path: String) throws {
        var tensors: [String: Tensor] = [:]
        for p in optimizer.parameters { tensors["param." + p.name] = Tensor(floats: p.value, shape: p.shape) }
        for (name, values) in optimizer.stateTensors() { tensors[name] = Tensor(floats: values, shape: [values.count]) }
        if !lossCurve.isEmpty { tensors["loss_curve"] = Tensor(floats: lossCurve, shape: [lossCurve.count]) }
        let meta = ["format": "whittle-training", "step": String(step), "optimizer": settings.optimizer.rawValue]
        try SafetensorsWriter.write(to: path, tensors: tensors, metadata: meta)
    }

    public func resume(from path: String) throws {
        let file = try SafetensorsFile(path: path)
        guard let stepText = file.metadata["step"], let saved = Int(stepText) else {
            throw TrainingError.checkpointMismatch(path: path, tensor: "__metadata__.step", reason: "missing: not a Whittle training checkpoint")
        }
        func floats(_ name: String) -> [Float]? { file.contains(name) ? (try? file.tensor(name))?.floats() : nil }
        for p in optimizer.parameters {
            guard let v = floats("param." + p.name) else {
                throw TrainingError.checkpointMismatch(path: path, tensor: "param." + p.name, reason: "is missing")
            }
            guard v.count == p.count else {
                throw TrainingError.checkpointMismatch(path: path, tensor: "param." + p.name, reason: "has \(v.count) values, the model needs \(p.count)")
            }
            p.value = v
        }
        try optimizer.loadState({ floats($0) }, stepCount: saved)
        lossCurve = floats("loss_curve") ?? []
    }
}
