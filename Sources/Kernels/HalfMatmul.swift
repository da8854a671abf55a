import CSIMD
import Tensors

/// A weight W [N, K] kept in the 16 bits a checkpoint stores (BF16 or F16), usually a view of the
/// memory-mapped file: a model built on it holds no f32 copy, and a decode step reads 2 bytes a weight.
/// Every product is computed in f32 on the exactly widened values (`halfLinearForward`), so it equals
/// the product on the upcast f32 weight up to the order of the additions. Oracle: `halfLinearNaive`.
public struct HalfMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    /// `.BF16` or `.F16`.
    public let dtype: DType
    /// Holds the values (and keeps a mapped file alive).
    public let storage: TensorStorage

    /// `tensor` must be 2-D BF16 or F16 (a loader checks and reports; here it is a precondition).
    /// A view at an odd address (possible in a hand-made safetensors file) is copied to aligned memory.
    public init(_ tensor: Tensor) {
        precondition(tensor.shape.count == 2, "HalfMatrix: weight must be 2-D, got \(tensor.shape)")
        precondition(tensor.dtype == .BF16 || tensor.dtype == .F16, "HalfMatrix: BF16 or F16, got \(tensor.dtype)")
        rows = tensor.shape[0]; cols = tensor.shape[1]; dtype = tensor.dtype
        if Int(bitPattern: tensor.storage.pointer) % 2 == 0 {
            storage = tensor.storage
        } else {
            storage = TensorStorage(uninitializedByteCount: tensor.byteCount)
            storage.mutableBytes.copyMemory(from: tensor.bytes)
        }
    }

    public var values: UnsafePointer<UInt16> { storage.pointer.assumingMemoryBound(to: UInt16.self) }

    var kind: Int32 { dtype == .F16 ? CSIMD_HALF_F16 : CSIMD_HALF_BF16 }

    /// Whether this CPU runs the register kernel (AVX2 + F16C; AVX-512 when present).
    public static var kernelAvailable: Bool { csimd_available() != 0 }

    /// Rows [r0, r1) widened to f32 into `out` ((r1 − r0) · cols floats; exact).
    public func widenRows(_ r0: Int, _ r1: Int, into out: UnsafeMutablePointer<Float>) {
        let n = (r1 - r0) * cols
        DTypeConversion.load(UnsafeRawBufferPointer(start: values + r0 * cols, count: 2 * n), as: dtype,
                             into: UnsafeMutableBufferPointer(start: out, count: n))
    }
}

/// y = x · Wᵀ (+ bias), x [M, K], y [M, N], W a `HalfMatrix`. Up to `fusedRows` activation rows (a
/// decode step, a few sequences) CSIMD's register kernel widens each weight in registers and reads it
/// once per 4 activation rows, weight rows split over the cores by the spinning pool (pool.c). Above
/// that, or without AVX2 + F16C, each core widens its own tiles of `tileRows` weight rows and runs a
/// one-thread sgemm on them (`tiledMatmul`, as NF4 does), which is compute-bound like f32 sgemm.
public func halfLinearForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: HalfMatrix,
                              bias: UnsafePointer<Float>?, m M: Int, tileRows: Int = 64, fusedRows: Int = pooledRows) {
    let N = weight.rows, K = weight.cols
    guard M > 0, N > 0 else { return }
    if M > fusedRows || K == 0
        || csimd_half_matmul_split(y, N, x, weight.values, M, N, K, weight.kind, Int32(min(Threads.count, kernelThreads))) == 0 {
        tiledMatmul(y: y, x: x, m: M, n: N, k: K, tileRows: tileRows) { weight.widenRows($0, $1, into: $2) }
    }
    if let bias {
        for i in 0..<M { for j in 0..<N { y[i * N + j] += bias[j] } }
    }
}

/// Several `HalfMatrix` weights of one dtype and width on the same `x[M, K]` (a decode step's q, k, v or
/// gate, up): `ys[s][M, N_s] = x · W_sᵀ`, no bias, all weight rows split over the cores as one job of the
/// pool (one hand-off instead of one per weight). Returns false, writing nothing, when `halfLinearForward`
/// would not take the register kernel for them (M > `pooledRows`, no AVX2 + F16C, mixed dtypes or widths).
public func halfLinearsForward(_ ys: [UnsafeMutablePointer<Float>], x: UnsafePointer<Float>, weights: [HalfMatrix], m M: Int) -> Bool {
    guard let first = weights.first, M > 0, M <= pooledRows, first.cols > 0,
          weights.allSatisfy({ $0.dtype == first.dtype && $0.cols == first.cols }) else { return false }
    let outs = zip(ys, weights).map { csimd_out_t(y: $0, ldy: $1.rows, w: UnsafeRawPointer($1.values), rows: $1.rows) }
    return csimd_half_matmul_split_many(outs, outs.count, x, M, first.cols, first.kind, Int32(min(Threads.count, kernelThreads))) != 0
}

/// The oracle: every weight widened by the scalar definitions (`DTypeConversion.float16ToFloat`, BF16 as
/// the top half of an f32), then a triple loop in f32.
public func halfLinearNaive(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: HalfMatrix,
                            bias: UnsafePointer<Float>?, m M: Int) {
    let N = weight.rows, K = weight.cols, w = weight.values
    func widen(_ h: UInt16) -> Float {
        weight.dtype == .F16 ? DTypeConversion.float16ToFloat(h) : Float(bitPattern: UInt32(h) << 16)
    }
    for i in 0..<M {
        for j in 0..<N {
            var acc: Float = 0
            for p in 0..<K { acc += x[i * K + p] * widen(w[j * K + p]) }
            y[i * N + j] = acc + (bias?[j] ?? 0)
        }
    }
}
