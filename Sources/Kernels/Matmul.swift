import COpenBLAS
import CSIMD
import Foundation

/// Row-major single-precision GEMM through OpenBLAS:
/// `c[M,N] = alpha · op(a) · op(b) + beta · c`, op = transpose when the flag is set.
/// `lda`, `ldb`, `ldc` are row strides of the stored matrices (so sub-blocks of wider rows work).
public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                  alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
                  _ b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    if k == 0 {   // BLAS leaves c untouched only when beta = 1; define the empty product as 0.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The obviously correct twin of `sgemm` (test oracle).
public func sgemmNaive(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                       alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
                       _ b: UnsafePointer<Float>, ldb: Int,
                       beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    for i in 0..<m {
        for j in 0..<n {
            var s: Double = 0
            for p in 0..<k {
                let av = transA ? a[p * lda + i] : a[i * lda + p]
                let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                s += Double(av) * Double(bv)
            }
            c[i * ldc + j] = alpha * Float(s) + (beta == 0 ? 0 : beta * c[i * ldc + j])
        }
    }
}

/// Batched strided GEMM: for each `i in 0..<batch`, `sgemm` on `a + i·strideA`, `b + i·strideB`, `c + i·strideC`.
public func sgemmBatched(batch: Int, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                         _ a: UnsafePointer<Float>, lda: Int, strideA: Int,
                         _ b: UnsafePointer<Float>, ldb: Int, strideB: Int,
                         beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int) {
    for i in 0..<batch {
        sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a + i * strideA, lda: lda,
              b + i * strideB, ldb: ldb, beta: beta, c + i * strideC, ldc: ldc)
    }
}

/// Linear layer (PyTorch `nn.Linear`): `out[N,OC] = inp[N,C] · weight[OC,C]ᵀ + bias[OC]`.
public func matmulForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                          _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                          rows n: Int, inFeatures c: Int, outFeatures oc: Int) {
    if n == 1 && c > 0 {
        // One row (a decode step): a GEMV streams the weight once; OpenBLAS's GEMM packs it first
        // (2–4× the CPU time at SmolLM2's shapes, measured with OpenBLAS 0.3.21).
        if !gemvForward([GemvOutput(y: out, weight: weight, rows: oc)], x: inp, m: 1, k: c) {
            if let bias { out.update(from: bias, count: oc) } else { out.update(repeating: 0, count: oc) }
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(oc), Int32(c), 1, weight, Int32(c), inp, 1, 1, out, 1)
            return
        }
        if let bias { for j in 0..<oc { out[j] += bias[j] } }
        return
    }
    if let bias {
        for r in 0..<n { (out + r * oc).update(from: bias, count: oc) }
        sgemm(transA: false, transB: true, m: n, n: oc, k: c, inp, lda: c, weight, ldb: c, beta: 1, out, ldc: oc)
    } else {
        sgemm(transA: false, transB: true, m: n, n: oc, k: c, inp, lda: c, weight, ldb: c, out, ldc: oc)
    }
}

/// One output of `gemvForward`: `y[M, rows] = x · weightᵀ`, weight `[rows, K]` row-major.
public struct GemvOutput {
    public var y: UnsafeMutablePointer<Float>
    public var weight: UnsafePointer<Float>
    public var rows: Int
    public init(y: UnsafeMutablePointer<Float>, weight: UnsafePointer<Float>, rows: Int) { self.y = y; self.weight = weight; self.rows = rows }
}

/// The decode step's f32 product: every output `y = x[M, K] · Wᵀ` (no bias) for a few rows M, all the
/// outputs' weight rows split over the cores as one job of the spinning pool (`csimd_sgemv_split_many`,
/// one hand-off for a step's q, k, v). Returns false, writing nothing, without AVX-512 or when
/// `WHITTLE_SGEMV=blas` (A/B runs); the caller then takes OpenBLAS. Oracle: `matmulForwardNaive`.
public func gemvForward(_ outputs: [GemvOutput], x: UnsafePointer<Float>, m: Int, k: Int) -> Bool {
    guard ownGemv, m > 0, k > 0 else { return false }
    let outs = outputs.map { csimd_out_t(y: $0.y, ldy: $0.rows, w: UnsafeRawPointer($0.weight), rows: $0.rows) }
    return csimd_sgemv_split_many(outs, outs.count, x, m, k, Int32(min(Threads.count, kernelThreads))) != 0
}

/// Up to this many rows a KV-cache forward's f32 linears (`Linear.fewRows`, and fused groups) take `gemvForward`
/// — a decode prompt, a batch of sequences decoding together: the row blocks read each weight once from memory,
/// where OpenBLAS's GEMM first packs it (SmolLM2's 16-token prompt: 37–47 ms against 58–65 ms, BENCHMARKS.md
/// "f32 decode step, session 11"). `WHITTLE_GEMV_ROWS=1` keeps OpenBLAS from two rows (A/B runs). Every
/// other product (`matmulForward`, `Linear.forward`, the training tape's) keeps the GEMV at one row, so the
/// eager and taped forwards stay equal bit for bit.
public let gemvRows = Int(ProcessInfo.processInfo.environment["WHITTLE_GEMV_ROWS"] ?? "") ?? 16

/// `WHITTLE_SGEMV=blas` keeps OpenBLAS `sgemv` for one-row f32 products (A/B runs of the decoding bench).
let ownGemv = ProcessInfo.processInfo.environment["WHITTLE_SGEMV"] != "blas"

/// Naive twin of `matmulForward` (test oracle).
public func matmulForwardNaive(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                               _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                               rows n: Int, inFeatures c: Int, outFeatures oc: Int) {
    for r in 0..<n {
        for o in 0..<oc {
            var s: Double = bias.map { Double($0[o]) } ?? 0
            for i in 0..<c { s += Double(inp[r * c + i]) * Double(weight[o * c + i]) }
            out[r * oc + o] = Float(s)
        }
    }
}

/// Σ x[i] with the widest loads the CPU has (`csimd_read_sum`): the decoding bench's read ceiling
/// (one pass over a step's weights, which a memory-bound decode step cannot beat).
public func readSum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    csimd_read_sum(x, count)
}

/// Moves the 2 MB pages holding these byte ranges into huge pages now (`csimd_huge_pages`: Linux
/// MADV_COLLAPSE, contents unchanged): the weights a decode step streams, which one core reads up to
/// twice as fast without 4 kB page walks (BENCHMARKS.md, "Decoding, session 10"). Ranges within 2 MB of
/// each other are collapsed in one call; pages already huge cost next to nothing. Returns the bytes of
/// the spans collapsed (0 off Linux or with WHITTLE_HUGE_PAGES=0).
@discardableResult
public func backWithHugePages(_ ranges: [(pointer: UnsafeRawPointer, bytes: Int)]) -> Int {
    let pointers: [UnsafeRawPointer?] = ranges.map(\.pointer), sizes = ranges.map(\.bytes)
    return csimd_huge_pages(pointers, sizes, ranges.count)
}
