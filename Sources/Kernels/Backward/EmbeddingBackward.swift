/// Backward of `embeddingForward` / `embeddingAddForward`: scatter-adds `dout[N,C]` rows into
/// `dtable[ids[n], :]` (repeated ids accumulate).
public func embeddingBackward(_ dtable: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, ids: UnsafePointer<Int32>,
                              rows n: Int, channels c: Int) {
    for r in 0..<n {
        let d = dtable + Int(ids[r]) * c, g = dout + r * c
        for i in 0..<c { d[i] += g[i] }
    }
}
