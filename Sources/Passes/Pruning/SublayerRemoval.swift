import Foundation
import Models

/// One step of a removal order: the sublayer removed and the divergence of the model with it (and
/// every earlier step) removed.
public struct RemovalStep: Codable, Sendable, Equatable {
    public var sublayer: SublayerID
    public var divergence: Double
    public init(sublayer: SublayerID, divergence: Double) { self.sublayer = sublayer; self.divergence = divergence }
}

/// The reference code's module name of a candidate (`o_proj` / `down_proj`); candidates are ordered
/// lexicographically by it, which decides ties (ALGORITHMS.md §2.4).
public func finerCutModuleName(_ s: SublayerID) -> String {
    "model.layers.\(s.layer)." + (s.kind == .attention ? "self_attn.o_proj" : "mlp.down_proj")
}

/// Blocks held out by the exclusion option `-x`: the first ⌊2L·x/2⌋+1 blocks, released once
/// ⌊2L·x⌋+1 sublayers are removed (ALGORITHMS.md §2.4). Returns (held-out blocks, release count).
public func finerCutExclusion(layers: Int, exclude x: Double) -> (blocks: Int, releaseAfter: Int) {
    let total = Double(2 * layers)
    return (min(Int((total * x / 2).rounded(.down)) + 1, layers), Int((total * x).rounded(.down)) + 1)
}

/// FinerCut's greedy loop (ALGORITHMS.md §2.4): at each step remove the candidate whose removal
/// (together with all earlier removals) gives the least divergence; ties go to the first candidate
/// in module-name order. `heldOutBlocks` blocks join the candidates after `releaseAfter` removals.
/// Returns `steps` removals (at most 2L). `distance` is called with the full removed set.
/// Resume: the steps in `done` (saved by an earlier run through `onRemoval`) are taken as they are,
/// without evaluating their candidates; the loop goes on from the state they leave.
public func greedyRemovalOrder(layers: Int, steps: Int, heldOutBlocks: Int = 0, releaseAfter: Int = 0,
                               done: [RemovalStep] = [], onStep: (Int) -> Void = { _ in },
                               onRemoval: (_ index: Int, _ step: RemovalStep) throws -> Void = { _, _ in },
                               distance: (_ removed: Set<SublayerID>, _ candidate: SublayerID) throws -> Double) rethrows -> [RemovalStep] {
    let all = (0..<layers).flatMap { [SublayerID(layer: $0, kind: .attention), SublayerID(layer: $0, kind: .mlp)] }
        .sorted { finerCutModuleName($0) < finerCutModuleName($1) }
    var candidates = all.filter { $0.layer >= heldOutBlocks }
    var removed = Set<SublayerID>(), order: [RemovalStep] = []
    while order.count < min(steps, all.count) {
        var best: RemovalStep? = nil
        if order.count < done.count {
            best = done[order.count]
        } else {
            for c in candidates {
                var trial = removed; trial.insert(c)
                let d = try distance(trial, c)
                if best == nil || d < best!.divergence { best = RemovalStep(sublayer: c, divergence: d) }
            }
            if let best { try onRemoval(order.count, best) }
        }
        guard let step = best else { break }
        order.append(step); removed.insert(step.sublayer)
        candidates.removeAll { $0 == step.sublayer }
        if heldOutBlocks > 0 && order.count == releaseAfter {
            candidates = all.filter { !removed.contains($0) }
        }
        onStep(order.count)
    }
    return order
}

/// Blocks ordered by the angular distance between their input and output hidden states
/// (ShortGPT / Gromov et al.: least change first). `distances[l]` = mean over tokens of acos(cos)/π.
public func blockRemovalOrder(distances: [Double]) -> [Int] {
    distances.indices.sorted { (distances[$0], $0) < (distances[$1], $1) }
}

/// Mean over rows of acos(cos(a_r, b_r))/π for `[rows, c]` hidden states.
public func meanAngularDistance(_ a: [Float], _ b: [Float], rows: Int, channels c: Int) -> Double {
    precondition(a.count == rows * c && b.count == rows * c)
    var total = 0.0
    for r in 0..<rows {
        var dot = 0.0, na = 0.0, nb = 0.0
        for j in 0..<c {
            let x = Double(a[r * c + j]), y = Double(b[r * c + j])
            dot += x * y; na += x * x; nb += y * y
        }
        total += acos(min(max(dot / max((na * nb).squareRoot(), 1e-12), -1), 1)) / Double.pi
    }
    return total / Double(rows)
}
