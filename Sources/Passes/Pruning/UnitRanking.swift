import Tensors
import Datasets
import Models

/// Baseline importances for heads and neurons (no data): weight magnitude or a seeded random draw.
enum UnitRanking {
    /// Head: ‖(W_q rows, W_o columns) of the head‖₂. Neuron: ‖W1 row‖₂·‖W2 column‖₂ (× ‖W_up row‖₂ for SwiGLU).
    static func magnitude(_ model: TransformerModel) -> [PrunableUnit: Double] {
        var out: [PrunableUnit: Double] = [:]
        let c = model.config.hidden, hd = model.config.headDim
        for (l, layer) in model.layers.enumerated() {
            let q = (layer.q as? Linear)?.weight, o = (layer.o as? Linear)?.weight
            let qw = layer.heads * hd
            for h in 0..<layer.heads {
                var s = 0.0
                if let q { for r in (h * hd)..<((h + 1) * hd) { for j in 0..<c { s += Double(q[r * c + j] * q[r * c + j]) } } }
                if let o { for r in 0..<c { for j in (h * hd)..<((h + 1) * hd) { s += Double(o[r * qw + j] * o[r * qw + j]) } } }
                out[PrunableUnit(.head, layer: l, index: h)] = s.squareRoot()
            }
            let f = layer.ffnWidth
            let first = ((layer.gate ?? layer.up) as? Linear)?.weight, up = layer.gate != nil ? (layer.up as? Linear)?.weight : nil
            let down = (layer.down as? Linear)?.weight
            for n in 0..<f {
                func rowNorm(_ w: [Float]?) -> Double {
                    guard let w else { return 1 }
                    var s = 0.0; for j in 0..<c { s += Double(w[n * c + j] * w[n * c + j]) }; return s.squareRoot()
                }
                var colNorm = 1.0
                if let down { var s = 0.0; for r in 0..<c { s += Double(down[r * f + n] * down[r * f + n]) }; colNorm = s.squareRoot() }
                out[PrunableUnit(.neuron, layer: l, index: n)] = rowNorm(first) * rowNorm(up) * colNorm
            }
        }
        return out
    }

    static func random(_ model: TransformerModel, seed: UInt64) -> [PrunableUnit: Double] {
        var rng = SeededGenerator(seed: seed)
        var out: [PrunableUnit: Double] = [:]
        for (l, layer) in model.layers.enumerated() {
            for h in 0..<layer.heads { out[PrunableUnit(.head, layer: l, index: h)] = Double(rng.next() >> 11) }
            for n in 0..<layer.ffnWidth { out[PrunableUnit(.neuron, layer: l, index: n)] = Double(rng.next() >> 11) }
        }
        return out
    }
}
