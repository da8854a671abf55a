import Kernels
import Models

/// Records the coarse ops of one step and replays their backward twins in reverse (docs/ARCHITECTURE.md
/// "Training is a tape over coarse ops"). Ops live in `Tape+…` extensions; each computes its output
/// with the `Kernels` forward and records a closure that calls the matching `…Backward`.
/// Inference never builds a tape, so it pays nothing for training.
public final class Tape {
    private var backwards: [() -> Void] = []
    public init() {}

    public var recordedOps: Int { backwards.count }

    /// Records a backward closure to run when `backward(from:)` reaches this point.
    public func record(_ backward: @escaping () -> Void) { backwards.append(backward) }

    /// Seeds `loss.grad` with `seed` (default 1 for every element) and runs every recorded backward in
    /// reverse. Parameter gradients accumulate (zero them between optimizer steps). Clears the tape.
    public func backward(from loss: Variable, seed: [Float]? = nil) {
        precondition(loss.requiresGrad, "Tape.backward: the loss does not depend on any trainable variable")
        loss.ensureGrad()
        let s = seed ?? [Float](repeating: 1, count: loss.count)
        precondition(s.count == loss.count)
        for i in s.indices { loss.grad[i] += s[i] }
        for step in backwards.reversed() { step() }
        backwards.removeAll()
    }

    /// Drops the recorded ops without running them (evaluation under a tape).
    public func reset() { backwards.removeAll() }
}

/// Buffer helpers for op implementations.
extension Variable {
    /// Runs `body` with a pointer to this variable's gradient (allocated on demand), or nil when it
    /// takes no gradient.
    @inline(__always)
    func withGrad<R>(_ body: (UnsafeMutablePointer<Float>?) -> R) -> R {
        guard requiresGrad else { return body(nil) }
        ensureGrad()
        return grad.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}

@inline(__always)
func zeros(_ n: Int) -> [Float] { [Float](repeating: 0, count: n) }
