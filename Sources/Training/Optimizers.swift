import Models
import Foundation

/// An optimizer updating parameters from their accumulated gradients.
public protocol Optimizer: AnyObject {
    var parameters: [Variable] { get }
    /// Number of `step` calls so far.
    var stepCount: Int { get }
    /// Applies one update with learning rate `lr`.
    func step(lr: Float)
    /// Named state tensors for checkpoints (`<kind>.<parameter name>`), and their restore.
    func stateTensors() -> [(name: String, values: [Float])]
    func loadState(_ lookup: (String) -> [Float]?, stepCount: Int) throws
}

extension Optimizer {
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// AdamW (Loshchilov & Hutter 2019) exactly as `torch.optim.AdamW`: decoupled weight decay
/// `p ← p·(1 − lr·wd)` on parameters with `decay` set (matrices and embeddings; never norms,
/// biases or gates), then `p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)`.
public final class AdamW: Optimizer {
    public let parameters: [Variable]
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public private(set) var stepCount = 0
    var m: [[Float]], v: [[Float]]

    public init(parameters: [Variable], beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.parameters = parameters; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        m = parameters.map { zeros($0.count) }; v = m
    }

    public func step(lr: Float) {
        stepCount += 1
        let bc1 = 1 - powf(beta1, Float(stepCount)), bc2 = 1 - powf(beta2, Float(stepCount))
        let stepSize = lr / bc1, bc2Sqrt = bc2.squareRoot()
        let (b1, b2, e) = (beta1, beta2, eps)
        for (i, p) in parameters.enumerated() where !p.grad.isEmpty {
            let decayFactor: Float = p.decay ? 1 - lr * weightDecay : 1
            let count = p.count
            p.value.withUnsafeMutableBufferPointer { w in p.grad.withUnsafeBufferPointer { g in
                m[i].withUnsafeMutableBufferPointer { mp in v[i].withUnsafeMutableBufferPointer { vp in
                    let (w, g, mp, vp) = (w.baseAddress!, g.baseAddress!, mp.baseAddress!, vp.baseAddress!)
                    parallelChunks(count) { s, end in
                        for j in s..<end {
                            w[j] *= decayFactor
                            mp[j] += (g[j] - mp[j]) * (1 - b1)
                            vp[j] = b2 * vp[j] + (1 - b2) * g[j] * g[j]
                            w[j] -= stepSize * mp[j] / (vp[j].squareRoot() / bc2Sqrt + e)
                        }
                    }
                } }
            } }
        }
    }

    public func stateTensors() -> [(name: String, values: [Float])] {
        parameters.indices.flatMap { [("adam_m." + parameters[$0].name, m[$0]), ("adam_v." + parameters[$0].name, v[$0])] }
    }

    public func loadState(_ lookup: (String) -> [Float]?, stepCount: Int) throws {
        for (i, p) in parameters.enumerated() {
            for (kind, count) in [("adam_m.", p.count), ("adam_v.", p.count)] {
                guard let values = lookup(kind + p.name), values.count == count else {
                    throw TrainingError.checkpointMismatch(path: "optimizer state", tensor: kind + p.name, reason: "missing or of the wrong size")
                }
                if kind == "adam_m." { m[i] = values } else { v[i] = values }
            }
        }
        self.stepCount = stepCount
    }
}

/// SGD with optional momentum and (coupled, L2) weight decay, as `torch.optim.SGD` (dampening 0).
public final class SGD: Optimizer {
    public let parameters: [Variable]
    public var momentum: Float, weightDecay: Float
    public private(set) var stepCount = 0
    var buffers: [[Float]]

    public init(parameters: [Variable], momentum: Float = 0, weightDecay: Float = 0) {
        self.parameters = parameters; self.momentum = momentum; self.weightDecay = weightDecay
        buffers = parameters.map { _ in [] }
    }

    public func step(lr: Float) {
        stepCount += 1
        for (i, p) in parameters.enumerated() where !p.grad.isEmpty {
            let wd: Float = p.decay ? weightDecay : 0
            let first = buffers[i].isEmpty
            if momentum != 0 && first { buffers[i] = zeros(p.count) }
            for j in 0..<p.count {
                var g = p.grad[j] + wd * p.value[j]
                if momentum != 0 {
                    buffers[i][j] = first ? g : momentum * buffers[i][j] + g   // torch: the buffer starts as the first gradient
                    g = buffers[i][j]
                }
                p.value[j] -= lr * g
            }
        }
    }

    public func stateTensors() -> [(name: String, values: [Float])] {
        parameters.indices.compactMap { buffers[$0].isEmpty ? nil : ("sgd_momentum." + parameters[$0].name, buffers[$0]) }
    }

    public func loadState(_ lookup: (String) -> [Float]?, stepCount: Int) throws {
        for (i, p) in parameters.enumerated() { if let b = lookup("sgd_momentum." + p.name), b.count == p.count { buffers[i] = b } }
        self.stepCount = stepCount
    }
}

/// Splits `0..<count` over the cores for large element loops.
func parallelChunks(_ count: Int, _ body: (Int, Int) -> Void) {
    let chunks = count >= 1 << 16 ? 4 : 1
    if chunks == 1 { body(0, count); return }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in body(count * c / chunks, count * (c + 1) / chunks) }
}
