import Foundation

/// How rotary frequencies are scaled (transformers `rope_type`; see `modeling_rope_utils.py`).
public enum RopeScaling: Equatable, Sendable {
    case none
    /// Positions divided by `factor` (`"linear"`).
    case linear(factor: Float)
    /// NTK-aware base growth once the sequence exceeds `maxPositions` (`"dynamic"`).
    case dynamicNTK(factor: Float, maxPositions: Int)
    /// Llama 3.1 smooth per-frequency scaling (`"llama3"`).
    case llama3(factor: Float, lowFreqFactor: Float, highFreqFactor: Float, originalMaxPositions: Int)
}

/// Inverse frequencies `[HD/2]` for rotary embeddings of width `dim` with base `theta`, scaled as
/// transformers does for a forward whose largest position id is `seqLen − 1`.
public func rotaryInverseFrequencies(dim: Int, theta: Float, scaling: RopeScaling, seqLen: Int) -> [Float] {
    func base(_ b: Float) -> [Float] {
        (0..<dim / 2).map { i in 1 / powf(b, Float(2 * i) / Float(dim)) }
    }
    switch scaling {
    case .none:
        return base(theta)
    case let .linear(factor):
        return base(theta).map { $0 / factor }
    case let .dynamicNTK(factor, maxPositions):
        guard seqLen > maxPositions else { return base(theta) }
        let grown = Double(theta) * pow(Double(factor) * Double(seqLen) / Double(maxPositions) - Double(factor - 1),
                                         Double(dim) / Double(dim - 2))
        return base(Float(grown))
    case let .llama3(factor, low, high, original):
        let lowWavelen = Float(original) / low, highWavelen = Float(original) / high
        return base(theta).map { f in
            let wavelen = 2 * Float.pi / f
            if wavelen < highWavelen { return f }
            if wavelen > lowWavelen { return f / factor }
            let smooth = (Float(original) / wavelen - low) / (high - low)
            return (1 - smooth) * f / factor + smooth * f
        }
    }
}

/// Cos and sin tables `[N, HD/2]` for each row's position: `angle = position · invFreq`.
public func rotaryTables(positions: [Int], inverseFrequencies inv: [Float]) -> (cos: [Float], sin: [Float]) {
    let half = inv.count
    var c = [Float](repeating: 0, count: positions.count * half), s = c
    for (r, p) in positions.enumerated() {
        for i in 0..<half {
            let a = Float(p) * inv[i]
            c[r * half + i] = cosf(a); s[r * half + i] = sinf(a)
        }
    }
    return (c, s)
}

/// Rotary position embedding, "rotate half" layout (Llama/NeoX in transformers), in place on
/// `x[N, H·HD]`: for each head, `(x1, x2) ← (x1·cos − x2·sin, x2·cos + x1·sin)` with x1 the first
/// and x2 the second half of the head. `cos`, `sin` are `[N, HD/2]`.
public func rotaryForward(_ x: UnsafeMutablePointer<Float>, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
                          rows n: Int, heads h: Int, headDim hd: Int) {
    let half = hd / 2
    parallelRanges(n, costPerItem: h * hd) { start, end in
        for r in start..<end {
            let c = cos + r * half, s = sin + r * half
            for head in 0..<h {
                let p = x + r * h * hd + head * hd
                for i in 0..<half {
                    let x1 = p[i], x2 = p[i + half]
                    p[i] = x1 * c[i] - x2 * s[i]
                    p[i + half] = x2 * c[i] + x1 * s[i]
                }
            }
        }
    }
}

/// Naive twin of `rotaryForward`: builds the full-width cos/sin and applies `x·cos + rotate_half(x)·sin`.
public func rotaryForwardNaive(_ x: UnsafeMutablePointer<Float>, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
                               rows n: Int, heads h: Int, headDim hd: Int) {
    let half = hd / 2
    for r in 0..<n {
        for head in 0..<h {
            let p = x + r * h * hd + head * hd
            let old = (0..<hd).map { p[$0] }
            for i in 0..<hd {
                let rotated = i < half ? -old[i + half] : old[i - half]
                let j = i % half
                p[i] = old[i] * cos[r * half + j] + rotated * sin[r * half + j]
            }
        }
    }
}
