import Models
import Foundation

/// Learning rate per step: linear warm-up over `warmupSteps`, then constant, linear or cosine decay
/// to `minRatio·peak` at `totalSteps`. Step `s` is 0-based; warm-up gives `peak·(s+1)/warmup`
/// so the first update already moves (transformers' variant starts at 0).
public struct LearningRateSchedule: Codable, Sendable, Equatable {
    public enum Decay: String, Codable, Sendable { case constant, linear, cosine }
    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var decay: Decay
    public var minRatio: Float

    public init(peak: Float, warmupSteps: Int = 0, totalSteps: Int, decay: Decay = .linear, minRatio: Float = 0) {
        self.peak = peak; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps; self.decay = decay; self.minRatio = minRatio
    }

    public func rate(step s: Int) -> Float {
        if s < warmupSteps { return peak * Float(s + 1) / Float(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Float(s - warmupSteps) / Float(span))
        let factor: Float
        switch decay {
        case .constant: return peak
        case .linear: factor = 1 - progress
        case .cosine: factor = 0.5 * (1 + cosf(.pi * progress))
        }
        return peak * (minRatio + (1 - minRatio) * factor)
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm` (`torch.nn.utils.clip_grad_norm_`:
/// coefficient `maxNorm / (norm + 1e-6)` when below 1). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Variable], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in parameters { for g in p.grad { total += Double(g) * Double(g) } }
    let norm = Float(total.squareRoot())
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 { for p in parameters where !p.grad.isEmpty { for j in p.grad.indices { p.grad[j] *= coef } } }
    return norm
}
