import Foundation
import Kernels

/// The static W8A8 quantizers of ALGORITHMS.md §3.5 (Quantizable Transformers' PTQ), as pure functions
/// over the `Kernels` definitions (`Quantizer`, `AsymmetricUInt8Params`, `int8FakeQuantize`):
///   activations: asymmetric uint8 per tensor  Δ = (x_max − x_min)/255, z = clamp(round(−x_min/Δ), 0, 255),
///                q = clamp(round(x/Δ) + z, 0, 255), x̂ = Δ(q − z)
///   weights:     symmetric int8 per tensor with the range α chosen by MSE grid search
///                (Δ = α/127.5, q = clamp(round(x/Δ), −128, 127), the compressed-tensors convention)
/// Rounding is half-to-even throughout (torch.round / numpy.round).
public enum StaticQuantizers {
    public typealias AsymmetricParams = AsymmetricUInt8Params

    /// Δ and z from a range; the range is widened to include 0 so zero is exact.
    public static func asymmetricParams(min lo: Float, max hi: Float) -> AsymmetricParams {
        AsymmetricUInt8Params(min: lo, max: hi)
    }

    public static func fakeQuantAsymmetric(_ x: Float, _ p: AsymmetricParams) -> Float { p.fakeQuantize(x) }

    /// int8 with the scale of absmax α (`int8SymmetricScale`: α/127.5, 0 → eps).
    public static func fakeQuantSymmetric(_ x: Float, alpha: Float) -> Float {
        int8FakeQuantize(x, scale: int8SymmetricScale(absmax: alpha))
    }

    /// Candidate ranges for the MSE grid search: `count` fractions evenly spaced from 1 − margin
    /// (exclusive) to 1 of the observed extreme. The spec gives "100 candidates, margin 0.5, over
    /// max|w|"; we read the margin as how far below the extreme the search may clip.
    public static func gridFractions(count: Int = 100, margin: Float = 0.5) -> [Float] {
        (1...count).map { 1 - margin + margin * Float($0) / Float(count) }
    }

    /// α minimising ‖x − fakeQuantSymmetric(x, α)‖² over the grid.
    public static func mseSymmetricAlpha(_ x: [Float], count: Int = 100, margin: Float = 0.5) -> Float {
        let m = x.reduce(0) { Swift.max($0, abs($1)) }
        var best = m, bestError = Double.infinity
        for f in gridFractions(count: count, margin: margin) {
            let alpha = m * f
            var e = 0.0
            for v in x { let d = Double(v - fakeQuantSymmetric(v, alpha: alpha)); e += d * d }
            if e < bestError { bestError = e; best = alpha }
        }
        return best
    }

    /// (min, max) minimising the asymmetric fake-quant MSE, both ends scaled by the same fraction.
    public static func mseAsymmetricRange(_ x: [Float], count: Int = 100, margin: Float = 0.5) -> (min: Float, max: Float) {
        let lo = x.min() ?? 0, hi = x.max() ?? 0
        var best = (lo, hi), bestError = Double.infinity
        for f in gridFractions(count: count, margin: margin) {
            let p = asymmetricParams(min: lo * f, max: hi * f)
            var e = 0.0
            for v in x { let d = Double(v - fakeQuantAsymmetric(v, p)); e += d * d }
            if e < bestError { bestError = e; best = (lo * f, hi * f) }
        }
        return best
    }

    /// numpy.percentile with the default linear interpolation (q in [0, 100]).
    public static func percentile(_ sorted: [Float], _ q: Double) -> Float {
        guard !sorted.isEmpty else { return 0 }
        let position = q / 100 * Double(sorted.count - 1)
        let i = Int(position.rounded(.down)), frac = position - Double(i)
        if i + 1 >= sorted.count { return sorted[sorted.count - 1] }
        return Float(Double(sorted[i]) + frac * (Double(sorted[i + 1]) - Double(sorted[i])))
    }
}

/// Which per-batch range an activation observer takes (ALGORITHMS.md §3.5).
public enum ActivationObserverKind: String, Codable, Sendable, CaseIterable {
    /// batch min / max
    case minmax
    /// the (100 − p)-th and p-th percentiles of the batch (p = 99.999 as in the OPT README)
    case percentile
    /// the range minimising the batch's fake-quant MSE over the grid
    case mse
}

/// A running per-tensor activation range: x ← (1 − momentum)·batch + momentum·x after the first batch.
public struct RangeObserver: Sendable, Equatable {
    public var kind: ActivationObserverKind
    public var momentum: Float
    public var percentile: Double
    public private(set) var min: Float?
    public private(set) var max: Float?
    public private(set) var batches = 0

    public init(kind: ActivationObserverKind, momentum: Float = 0.9, percentile: Double = 99.999) {
        self.kind = kind; self.momentum = momentum; self.percentile = percentile
    }

    /// The range this observer takes from one batch.
    public func batchRange(_ values: [Float]) -> (min: Float, max: Float) {
        switch kind {
        case .minmax:
            return (values.min() ?? 0, values.max() ?? 0)
        case .percentile:
            let sorted = values.sorted()
            return (StaticQuantizers.percentile(sorted, 100 - percentile), StaticQuantizers.percentile(sorted, percentile))
        case .mse:
            return StaticQuantizers.mseAsymmetricRange(values)
        }
    }

    public mutating func observe(_ values: [Float]) {
        let (lo, hi) = batchRange(values)
        observe(min: lo, max: hi)
    }

    /// Folds one batch's range in. The running range depends on the batches' order (an exponential
    /// moving average), so sharded calibration keeps each batch's range and folds them in batch order.
    public mutating func observe(min lo: Float, max hi: Float) {
        if let m = min, let n = max {
            min = (1 - momentum) * lo + momentum * m
            max = (1 - momentum) * hi + momentum * n
        } else {
            min = lo; max = hi
        }
        batches += 1
    }

    public var params: StaticQuantizers.AsymmetricParams? {
        guard let lo = min, let hi = max else { return nil }
        return StaticQuantizers.asymmetricParams(min: lo, max: hi)
    }
}
