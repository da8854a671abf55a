import Checkpoints
import Foundation
import Tensors

/// Where a training run keeps its resumable state and how often it saves it (a pass gets it from
/// `PassContext.trainingCheckpoint(run:)`: the run's progress folder, `--save-every` steps).
/// Every pass that trains goes through `Trainer.run` with one of these: one place saves and restores.
public struct TrainingCheckpoint: Sendable, Equatable {
    public var path: String
    /// Steps between saves (0: never).
    public var every: Int
    public init(path: String, every: Int) { self.path = path; self.every = every }

    /// Whether the state after `step` (1-based count of finished steps) of `total` is saved: every
    /// `every` steps and after the last.
    public func isDue(step: Int, of total: Int) -> Bool { every > 0 && (step % every == 0 || step == total) }
}

/// Training checkpoints: one safetensors file with every parameter (`param.<name>`), the optimizer
/// state (`adam_m.<name>`, `adam_v.<name>`, `sgd_momentum.<name>`) and the loss curve, with the step
/// count (and the loop's own state, `loopState`, as JSON) in the metadata. `resume(from:)` restores
/// all of it, so a run continues where it stopped. The file is written atomically (a kill leaves the
/// previous save).
extension Trainer {
    public func save(to path: String) throws {
        var tensors: [String: Tensor] = [:]
        for p in optimizer.parameters { tensors["param." + p.name] = Tensor(floats: p.value, shape: p.shape) }
        for (name, values) in optimizer.stateTensors() { tensors[name] = Tensor(floats: values, shape: [values.count]) }
        if !lossCurve.isEmpty { tensors["loss_curve"] = Tensor(floats: lossCurve, shape: [lossCurve.count]) }
        var meta = ["format": "whittle-training", "step": String(step), "optimizer": settings.optimizer.rawValue]
        if let loopState { meta["loop_state"] = String(decoding: try loopState.save(), as: UTF8.self) }
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
        if let loopState {
            guard let state = file.metadata["loop_state"] else {
                throw TrainingError.checkpointMismatch(path: path, tensor: "__metadata__.loop_state", reason: "is missing (the loop around this run saves state)")
            }
            try loopState.restore(Data(state.utf8))
        }
    }
}
