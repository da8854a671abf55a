import Foundation

/// `out[i] = a[i] + b[i]` (residual add). `out` may alias `a`.
public func addForward(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
    parallelRanges(count) { start, end in for i in start..<end { out[i] = a[i] + b[i] } }
}

/// `x[r, j] *= scale[j]` for `rows` rows of `cols` (column masks, e.g. FFN neuron masks).
public func scaleColumnsForward(_ x: UnsafeMutablePointer<Float>, _ scale: UnsafePointer<Float>, rows: Int, cols: Int) {
    parallelRanges(rows, costPerItem: cols) { start, end in
        for r in start..<end { let p = x + r * cols; for j in 0..<cols { p[j] *= scale[j] } }
    }
}

/// `tanh` in place over `count` values (BERT pooler).
public func tanhForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = tanhf(inp[i]) }
}

/// `out[i] = a[i] · b[i]`. `out` may alias `a` or `b`.
public func multiplyForward(_ out: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
    parallelRanges(count) { start, end in for i in start..<end { out[i] = a[i] * b[i] } }
}
