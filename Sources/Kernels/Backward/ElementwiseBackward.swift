import Foundation

/// Backward of `scaleColumnsForward` (`y[r,j] = x[r,j]·scale[j]`): `dinp += dout·scale`,
/// `dscale[j] += Σ_r dout[r,j]·x[r,j]` (x is the forward input, before scaling).
public func scaleColumnsBackward(dinp: UnsafeMutablePointer<Float>?, dscale: UnsafeMutablePointer<Float>?,
                                 dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, scale: UnsafePointer<Float>,
                                 rows: Int, cols: Int) {
    if let dinp {
        parallelRanges(rows, costPerItem: cols) { start, end in
            for r in start..<end { for j in 0..<cols { dinp[r * cols + j] += dout[r * cols + j] * scale[j] } }
        }
    }
    if let dscale {
        for r in 0..<rows { for j in 0..<cols { dscale[j] += dout[r * cols + j] * inp[r * cols + j] } }
    }
}

/// Backward of `tanhForward` given its output `y`: `dinp += dout·(1 − y²)`. Accumulates.
public func tanhBackward(_ dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, out y: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { dinp[i] += dout[i] * (1 - y[i] * y[i]) }
}

/// `acc += x` elementwise (gradient accumulation, residual backward).
public func accumulate(_ acc: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    parallelRanges(count) { start, end in for i in start..<end { acc[i] += x[i] } }
}
