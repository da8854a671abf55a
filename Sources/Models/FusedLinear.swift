import CSIMD
import Foundation
import Kernels

/// Linears on the same rows `x[M, K]` as one product when their kernel allows it — a decode step's q, k, v
/// or gate, up: 16-bit weights of one dtype or NF4 weights at ≤ `pooledRows` rows (`halfLinearsForward`,
/// `nf4LinearsForward`), f32 weights at
/// one row, or ≤ `gemvRows` rows with `fewRowGemv` (a KV-cache forward; `gemvForward`) — so the pool splits all their weight rows in one hand-off instead of one per
/// linear. Each output is what the layer's own `forward` returns (the same kernel on the same rows).
/// At prefill size (≥ `panelGemmRows` rows) f32 weights run as one job of the panel GEMM (`f32LinearsForward`).
/// nil when they cannot (quantized or mixed layers, more rows, no kernel): the caller runs them one by one.
public func fusedLinearForward(_ layers: [any LinearLayer], _ x: [Float], rows m: Int, fewRowGemv: Bool = false) -> [[Float]]? {
    guard let k = layers.first?.inFeatures, m > 0, layers.allSatisfy({ $0.inFeatures == k }) else { return nil }
    let halves = layers.compactMap { $0 as? HalfLinear }, floats = layers.compactMap { $0 as? Linear }
    let nf4s = layers.compactMap { $0 as? NF4Linear }
    let allHalf = halves.count == layers.count, allFloat = floats.count == layers.count, allNF4 = nf4s.count == layers.count
    let gemvM = fewRowGemv ? gemvRows : 1   // f32 rows the GEMV takes (`Linear.fewRows`)
    guard ((allHalf || allNF4) && m <= pooledRows) || (allFloat && (m <= gemvM || panelGemmRuns(rows: m))) else { return nil }
    // Every kernel writes straight into the output arrays; the biases follow (`addBiases`).
    var done = true
    let ys = uninitializedArrays(layers.map { m * $0.outFeatures }) { ys in
        x.withUnsafeBufferPointer { xp in
            let x = xp.baseAddress!
            if allFloat && m > gemvM { return f32LinearsForward(floats, outputs: ys, x: x, rows: m) }   // biases included
            if allHalf {
                done = halfLinearsForward(ys, x: x, weights: halves.map(\.weight), m: m)
            } else if allNF4 {
                done = nf4LinearsForward(ys, x: x, weights: nf4s.map(\.weight), m: m)
            } else {
                done = withPointers(floats.map(\.weight)) { ws in
                    gemvForward(zip(ys, zip(ws, floats)).map { GemvOutput(y: $0, weight: $1.0, rows: $1.1.outFeatures) }, x: x, m: m, k: k)
                }
            }
            let biases = allHalf ? halves.map(\.bias) : allNF4 ? nf4s.map(\.bias) : floats.map(\.bias)
            if done { addBiases(ys, biases, rows: m, widths: layers.map(\.outFeatures)) }
        }
    }
    return done ? ys : nil
}

/// `y_s[i, j] += bias_s[j]` for each output `y_s[rows, widths[s]]` that has a bias (the layers' own `forward`
/// adds the same way, so a fused output equals the layer's bit for bit).
func addBiases(_ ys: [UnsafeMutablePointer<Float>], _ biases: [[Float]?], rows m: Int, widths: [Int]) {
    for (y, (bias, n)) in zip(ys, zip(biases, widths)) {
        guard let bias else { continue }
        bias.withUnsafeBufferPointer { b in for i in 0..<m { addForward(y + i * n, y + i * n, b.baseAddress!, count: n) } }
    }
}

/// From this many activation rows (a prefill, an evaluation window) f32 linears run CSIMD's panel GEMM on
/// the spinning pool (`csimd_f32_gemm_many`) instead of OpenBLAS: one hand-off per group of linears on the
/// same rows, no OpenBLAS threads yielding the cores between calls. Below it OpenBLAS is faster (one core,
/// the panel kernel at 0.78–0.90× sgemm at 16–48 rows, 0.86–0.97× at 64, 0.95–1.0× at 128: BENCHMARKS.md,
/// "Prefill, session 10"). `WHITTLE_PREFILL_GEMM=blas` (or `PanelGemm.enabled = false`, the prefill bench's
/// paired A/B) keeps OpenBLAS.
public let panelGemmRows = 128
public enum PanelGemm {
    public static var enabled = ProcessInfo.processInfo.environment["WHITTLE_PREFILL_GEMM"] != "blas"
    /// Attention's OpenBLAS products on one thread at prefill size (`EagerExecutor.attention`), so OpenBLAS's
    /// idle worker does not spin beside the pool's helper between the linears: 1.13–1.27× per pair on SmolLM2
    /// (loaded machine; BENCHMARKS.md, "Prefill, session 10"). `WHITTLE_SOLO_ATTENTION=0` turns it off.
    public static var soloAttention = ProcessInfo.processInfo.environment["WHITTLE_SOLO_ATTENTION"] != "0"
    /// With `soloAttention`, the heads spread over the pool's seats, each on one core (`attentionForward(headsOnCores:)`);
    /// `WHITTLE_HEADS_ON_CORES=0` keeps them one after another on the caller.
    public static var headsOnCores = ProcessInfo.processInfo.environment["WHITTLE_HEADS_ON_CORES"] != "0"
}

/// Whether `f32LinearsForward` runs the panel GEMM at `m` rows (else each layer's product is OpenBLAS's).
public func panelGemmRuns(rows m: Int) -> Bool { PanelGemm.enabled && m >= panelGemmRows && csimd_avx512_available() != 0 }

/// `outputs[s][m, N_s] = x[m, K]·W_sᵀ + b_s` for f32 layers with the same `inFeatures`: at ≥ `panelGemmRows`
/// rows one job of the panel GEMM over all their weight rows (`csimd_f32_gemm_many`; each output element
/// the same sum in the same order however the job is split, so each output is what the layer alone
/// gives), then the biases; else (or when the kernel declines) `matmulForward` layer by layer.
public func f32LinearsForward(_ layers: [Linear], outputs ys: [UnsafeMutablePointer<Float>], x: UnsafePointer<Float>, rows m: Int) {
    precondition(layers.count == ys.count && layers.allSatisfy { $0.inFeatures == layers[0].inFeatures }, "f32LinearsForward: layers and outputs")
    guard let k = layers.first?.inFeatures else { return }
    let done = panelGemmRuns(rows: m) && withPointers(layers.map(\.weight)) { ws in
        let outs = zip(ys, zip(ws, layers)).map { csimd_out_t(y: $0, ldy: $1.1.outFeatures, w: UnsafeRawPointer($1.0), rows: $1.1.outFeatures) }
        return csimd_f32_gemm_many(outs, outs.count, x, m, k, Int32(min(Threads.count, kernelThreads))) != 0
    }
    guard done else {
        for (y, layer) in zip(ys, layers) {
            layer.weight.withUnsafeBufferPointer { w in
                withOptionalPointer(layer.bias) { b in
                    matmulForward(y, x, w.baseAddress!, b, rows: m, inFeatures: k, outFeatures: layer.outFeatures)
                }
            }
        }
        return
    }
    addBiases(ys, layers.map(\.bias), rows: m, widths: layers.map(\.outFeatures))
}

/// New arrays of `counts` floats, written by `body` (which must write every element).
func uninitializedArrays(_ counts: [Int], _ body: ([UnsafeMutablePointer<Float>]) -> Void) -> [[Float]] {
    var pointers: [UnsafeMutablePointer<Float>] = [], arrays = [[Float]](repeating: [], count: counts.count)
    func nest(_ i: Int) {
        if i == counts.count { body(pointers); return }
        arrays[i] = [Float](unsafeUninitializedCapacity: max(1, counts[i])) { p, count in   // never a nil base
            pointers.append(p.baseAddress!)
            nest(i + 1)
            count = counts[i]
        }
    }
    nest(0)
    return arrays
}
