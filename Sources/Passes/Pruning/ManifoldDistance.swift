import Kernels

/// Manifold-distillation distance (ALGORITHMS.md §1.2): rows of `[rows, d]` features are
/// L2-normalised, the selected rows form Gram matrices G = a·aᵀ, and MD = Σ (G_A − G_P)².
/// The reference Gram is computed once per layer and row selection.
struct ManifoldDistance {
    let rows: [Int]
    let width: Int
    let referenceGram: [Float]

    init(reference: UnsafePointer<Float>, rows: [Int], width: Int) {
        self.rows = rows; self.width = width
        referenceGram = Self.gram(reference, rows: rows, width: width)
    }

    /// Σ (G_ref − G_P)² for perturbed features `p` (same layout as the reference).
    func distance(_ p: UnsafePointer<Float>) -> Double {
        let g = Self.gram(p, rows: rows, width: width)
        var s = 0.0
        for i in g.indices { let d = Double(g[i] - referenceGram[i]); s += d * d }
        return s
    }

    /// Gram matrix of the L2-normalised selected rows.
    static func gram(_ x: UnsafePointer<Float>, rows: [Int], width d: Int) -> [Float] {
        let k = rows.count
        var a = [Float](repeating: 0, count: k * d)
        for (i, r) in rows.enumerated() {
            var n: Float = 0
            for j in 0..<d { let v = x[r * d + j]; n += v * v }
            let inv = 1 / max(n.squareRoot(), 1e-12)
            for j in 0..<d { a[i * d + j] = x[r * d + j] * inv }
        }
        var g = [Float](repeating: 0, count: k * k)
        a.withUnsafeBufferPointer { ap in
            g.withUnsafeMutableBufferPointer { gp in
                matmulForward(gp.baseAddress!, ap.baseAddress!, ap.baseAddress!, nil, rows: k, inFeatures: d, outFeatures: k)
            }
        }
        return g
    }
}
