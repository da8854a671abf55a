import Foundation
import Tensors
import XCTest

/// Seeded normal samples for kernel and layer tests: Box–Muller over `SeededGenerator`'s uniforms.
public struct SeededNormal {
    var generator: SeededGenerator
    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }
    /// A uniform in [0, 1) from the top 53 bits.
    public mutating func uniform() -> Double { Double(generator.next() >> 11) / Double(1 << 53) }
    public mutating func next() -> Float {
        let u = max(uniform(), 1e-300), v = uniform()
        return Float((-2 * log(u)).squareRoot() * cos(2 * Double.pi * v))
    }
    public mutating func array(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
}

extension XCTestCase {
    /// Asserts `fast [M, N]` is within the rounding bound of a K-term f32 dot product of `naive` (the
    /// Double-summed twin of y = x · Wᵀ): |fast − naive| ≤ 2·K·ε·Σ_k |x_k·w_k| (+1e-30).
    public func assertWithinSummationBound(_ fast: [Float], _ naive: [Float], x: [Float], w: [Float], m M: Int, n N: Int, k K: Int,
                                           _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for i in 0..<M {
            for j in 0..<N {
                var magnitude: Float = 0
                for p in 0..<K { magnitude += abs(x[i * K + p] * w[j * K + p]) }
                let bound = 2 * Float(K) * Float.ulpOfOne * magnitude + 1e-30
                let err = abs(fast[i * N + j] - naive[i * N + j])
                if !(err <= bound) {
                    XCTFail("\(what): y[\(i), \(j)] = \(fast[i * N + j]), naive \(naive[i * N + j]), bound \(bound)", file: file, line: line)
                    return
                }
            }
        }
    }
}
