import Checkpoints
import Models

/// `--dry-run` plans: weight-only quantizers know before running which tensors they touch and
/// what those become on disk.
extension NF4Quantization: PlannablePass {
    public func plan(for model: TensorStore) throws -> PassPlan {
        let touched = try selector.selectedWithUntiedHead(in: model, pass: Self.kind)
        // Packed 4-bit codes + one f32 absmax per block (or one u8 per block + second-level constants).
        let bytes = touched.reduce(0) { total, spec in
            let n = spec.shape.reduce(1, *), blocks = (n + blockSize - 1) / blockSize
            let constants = doubleQuant ? blocks + ((blocks + 255) / 256) * 4 + 4 + 256 * 4 : blocks * 4
            return total + (n + 1) / 2 + constants + 16 * 4
        }
        return PassPlan(touchedTensors: touched.map(\.name), outputBytes: bytes,
                        notes: ["streams one tensor at a time from the memory map: memory ≈ the largest weight's packed output"])
    }
}

extension Int8Quantization: PlannablePass {
    public func plan(for model: TensorStore) throws -> PassPlan {
        let touched = try selector.selectedWithUntiedHead(in: model, pass: Self.kind)
        try refuseConv1D(touched, config: model.config)
        let bytes = touched.reduce(0) { $0 + $1.shape.reduce(1, *) + $1.shape[0] * 4 }   // int8 codes + f32 scale per row
        return PassPlan(touchedTensors: touched.map(\.name), outputBytes: bytes,
                        notes: scheme == .static ? ["static scheme: runs the calibration data through the model"] : [])
    }
}
