import CSIMD

/// int8 × int8 → int32 matrix product for W8A8 linears (ALGORITHMS.md §5.5 without outliers):
///   acc[m, n] = Σ_k a[m, k] · b[n, k]          a: activations [M, K], b: weight rows [N, K]
///   y[m, n]   = acc[m, n] · sa[m] · sb[n] (+ bias[n])
/// `int8MatmulNaive` is the oracle of `int8Matmul` (CSIMD's VNNI or AVX2 kernel + `int8MatmulScalar`).

public func int8MatmulNaive(out: UnsafeMutablePointer<Int32>, a: UnsafePointer<Int8>, b: UnsafePointer<Int8>,
                            m M: Int, n N: Int, k K: Int) {
    for i in 0..<M {
        for j in 0..<N {
            var acc: Int32 = 0
            for p in 0..<K { acc += Int32(a[i * K + p]) * Int32(b[j * K + p]) }
            out[i * N + j] = acc
        }
    }
}

public func int8Matmul(out: UnsafeMutablePointer<Int32>, a: UnsafePointer<Int8>, b: UnsafePointer<Int8>,
                       m M: Int, n N: Int, k K: Int) {
    // Decode-sized products (M ≤ pooledRows): AVX-512 VNNI on the first K rounded down to 64 columns,
    // weight rows split over the cores by CSIMD's spinning pool (too short for a Dispatch hand-off:
    // pool.c); the rest of the columns here.
    let vnni = M <= pooledRows ? csimd_int8_matmul_vnni_split(out, N, a, b, M, N, K, Int32(Threads.count)) : 0
    if vnni > 0 {
        if vnni < K {
            parallelRanges(N, costPerItem: M * (K - vnni)) { j0, j1 in
                int8MatmulScalar(out: out + j0, ldo: N, a: a, b: b + j0 * K, m: M, n: j1 - j0, k: K, from: vnni)
            }
        }
        return
    }
    // Otherwise weight rows split over the cores by Dispatch; each part runs CSIMD's kernel — AVX-512 VNNI
    // on K rounded down to 64, else AVX2 on K rounded down to 16 — and adds the rest here (or does it
    // all, without AVX2).
    parallelRanges(N, costPerItem: M * K) { j0, j1 in
        var done = csimd_int8_matmul_vnni(out + j0, N, a, b + j0 * K, M, j1 - j0, K)
        if done == 0 { done = csimd_int8_matmul(out + j0, N, a, b + j0 * K, M, j1 - j0, K) }
        int8MatmulScalar(out: out + j0, ldo: N, a: a, b: b + j0 * K, m: M, n: j1 - j0, k: K, from: done)
    }
}

/// Activation rows up to which the quantized products (W8A8, NF4) split over CSIMD's spinning pool
/// instead of Dispatch: a decode step (M = 1, or a few sequences) gains from it (BENCHMARKS.md "The output
/// head in int8"); prefill-sized products read slower with it in a quiet `quant-matmul` run.
public let pooledRows = 8

/// The Swift twin: out[i·ldo + j] (+)= Σ_{p ≥ from} a[i, p] · b[j, p] — assigned when `from` is 0,
/// added to the kernel's partial sums otherwise. Weight rows in tiles of 64, reused across all
/// activation rows while they are in cache.
func int8MatmulScalar(out: UnsafeMutablePointer<Int32>, ldo: Int, a: UnsafePointer<Int8>, b: UnsafePointer<Int8>,
                      m M: Int, n N: Int, k K: Int, from: Int) {
    let tileN = 64
    for j0 in stride(from: 0, to: N, by: tileN) {
        let j1 = min(N, j0 + tileN)
        for i in 0..<M {
            let rowA = a + i * K + from
            for j in j0..<j1 {
                let rest = int8Dot(rowA, b + j * K + from, K - from)
                out[i * ldo + j] = from == 0 ? rest : out[i * ldo + j] &+ rest
            }
        }
    }
}

/// A plain widening loop: the optimizer vectorises it (≈ 1.7× faster than generic SIMD16 code here).
@inline(__always)
func int8Dot(_ x: UnsafePointer<Int8>, _ y: UnsafePointer<Int8>, _ n: Int) -> Int32 {
    var acc: Int32 = 0
    for p in 0..<n { acc &+= Int32(x[p]) &* Int32(y[p]) }
    return acc
}

/// W8A8 linear: quantizes x per token (dynamic), multiplies in int32, rescales.
/// x [M, K] floats, weight q [N, K] with per-row scale [N], y [M, N].
public func w8a8LinearForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                              weight: UnsafePointer<Int8>, weightScale: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                              m M: Int, n N: Int, k K: Int) {
    let xq = UnsafeMutablePointer<Int8>.allocate(capacity: M * K)
    let xs = UnsafeMutablePointer<Float>.allocate(capacity: M)
    let acc = UnsafeMutablePointer<Int32>.allocate(capacity: M * N)
    defer { xq.deallocate(); xs.deallocate(); acc.deallocate() }
    // Token rows are independent in the quantizer and the rescale: both split over the cores.
    parallelRanges(M, costPerItem: K) { i0, i1 in
        int8QuantizeRows(q: xq + i0 * K, scale: xs + i0, x: x + i0 * K, rows: i1 - i0, cols: K)
    }
    int8Matmul(out: acc, a: xq, b: weight, m: M, n: N, k: K)
    parallelRanges(M, costPerItem: N) { i0, i1 in
        for i in i0..<i1 {
            let s = xs[i], row = acc + i * N, out = y + i * N
            if let bias {
                for j in 0..<N { out[j] = Float(row[j]) * s * weightScale[j] + bias[j] }
            } else {
                for j in 0..<N { out[j] = Float(row[j]) * s * weightScale[j] }
            }
        }
    }
}
