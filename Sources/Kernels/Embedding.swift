/// Embedding gather: `out[N,C] = table[ids[n], :]`. Ids must be in `0..<vocab` (checked by the caller).
public func embeddingForward(_ out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, table: UnsafePointer<Float>,
                             rows n: Int, channels c: Int) {
    for r in 0..<n { (out + r * c).update(from: table + Int(ids[r]) * c, count: c) }
}

/// Adds gathered rows: `out[N,C] += table[ids[n], :]` (learned positions, token types).
public func embeddingAddForward(_ out: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, table: UnsafePointer<Float>,
                                rows n: Int, channels c: Int) {
    for r in 0..<n {
        let o = out + r * c, t = table + Int(ids[r]) * c
        for i in 0..<c { o[i] += t[i] }
    }
}
