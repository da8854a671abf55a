import Foundation

/// The two loss terms of one unit's trajectory score (ALGORITHMS.md §1.2), before balancing:
/// `md` = Σ manifold-distillation distances on later layers, `kl` = T²·KL(ref ‖ pruned) ≥ 0.
public struct TrajectoryTerms: Sendable, Equatable, Codable {
    public var md: Double
    public var kl: Double
    public init(md: Double, kl: Double) { self.md = md; self.kl = kl }
}

/// λ-balancing of the logit term against the feature term, in scoring order (the reference's
/// running list of scales): when |md| > |kl|, kl is scaled by s = 10^trunc(log10|md| − log10|kl| − log10 λ)
/// and s is remembered; otherwise kl is scaled by the mean of the remembered scales (1 if none).
/// Returns md + balanced kl per unit.
public func balanceTrajectoryTerms(_ terms: [TrajectoryTerms], lambda: Double = 10) -> [Double] {
    var scales: [Double] = []
    return terms.map { t in
        var kl = t.kl
        if abs(t.md) > abs(t.kl) {
            if t.kl != 0 {
                let s = pow(10, (log10(abs(t.md)) - log10(abs(t.kl)) - log10(lambda)).rounded(.towardZero))
                scales.append(s); kl *= s
            }
        } else {
            kl *= scales.isEmpty ? 1 : scales.reduce(0, +) / Double(scales.count)
        }
        return t.md + kl
    }
}

/// The reference's multipliers (ALGORITHMS.md §1.2): last block × `finalDecay`, class weight
/// (`head_metric_decay` 0.5 for heads, 1 for neurons), and — only with `indexWeights` (a reference-code
/// quirk, default off) — a weight by position inside the layer: geomspace(1, `indexTop`, width) reversed.
public func trajectoryMultiplier(layer: Int, index: Int, layers: Int, width: Int, classWeight: Double,
                                 finalDecay: Double = 0.5, indexWeights: Bool, indexTop: Double) -> Double {
    var m = classWeight
    if layer == layers - 1 { m *= finalDecay }
    if indexWeights && width > 1 {
        // geomspace(1, top, width)[width-1-index]: index 0 → top, index width-1 → 1.
        let position = Double(width - 1 - index) / Double(width - 1)
        m *= pow(indexTop, position)
    }
    return m
}
