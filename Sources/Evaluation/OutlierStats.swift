import Foundation

// Outlier metrics of Quantizable Transformers (ALGORITHMS.md §3.4): for each module output x of one
// sample, flattened to T·d values.

/// Non-excess kurtosis mean((x−μ)⁴) / (σ⁴ + 1e-6) with the unbiased σ (a Gaussian gives ≈ 3).
public func kurtosis(_ x: [Float]) -> Double {
    precondition(x.count >= 2)
    let n = Double(x.count)
    let mean = x.reduce(0.0) { $0 + Double($1) } / n
    var m2 = 0.0, m4 = 0.0
    for v in x { let d = Double(v) - mean; let d2 = d * d; m2 += d2; m4 += d2 * d2 }
    let variance = m2 / (n - 1)
    return (m4 / n) / (variance * variance + 1e-6)
}

/// max |x|.
public func infinityNorm(_ x: [Float]) -> Double {
    Double(x.reduce(Float(0)) { max($0, abs($1)) })
}

/// Per-module averages over samples, and the paper's summaries (mean and max over modules).
public struct OutlierStats: Codable, Equatable, Sendable {
    public struct Module: Codable, Equatable, Sendable {
        public var name: String
        public var kurtosis: Double
        public var infinityNorm: Double
        public var samples: Int
    }
    public private(set) var modules: [Module] = []

    public init() {}

    /// Adds one sample's output of `module` (all its T·d values).
    public mutating func add(module name: String, output x: [Float]) {
        let k = kurtosis(x), inf = infinityNorm(x)
        if let i = modules.firstIndex(where: { $0.name == name }) {
            let n = Double(modules[i].samples)
            modules[i].kurtosis = (modules[i].kurtosis * n + k) / (n + 1)
            modules[i].infinityNorm = (modules[i].infinityNorm * n + inf) / (n + 1)
            modules[i].samples += 1
        } else {
            modules.append(Module(name: name, kurtosis: k, infinityNorm: inf, samples: 1))
        }
    }

    public var meanKurtosis: Double { modules.isEmpty ? 0 : modules.map(\.kurtosis).reduce(0, +) / Double(modules.count) }
    public var maxKurtosis: Double { modules.map(\.kurtosis).max() ?? 0 }
    public var maxInfinityNorm: Double { modules.map(\.infinityNorm).max() ?? 0 }
}
