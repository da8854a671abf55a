import Foundation
import Whittle

// The ceiling of a decode step (suite `decoding`): one token through every linear reads each weight
// once, so a step cannot beat "weight bytes / read bandwidth". The bandwidth is measured here on the
// f32 model's own weight arrays (every block linear and the head), both threads each summing its half
// of every array in one pass with the widest loads (`readSum`), no synchronisation between arrays.

/// Bytes of weights one decode step reads: each block linear as stored (f32, int8 + row scales, NF4
/// codes + f32 absmax, or BF16 / F16) and the head. Norms, the embedding row and the KV cache are left out (≈ 1 % here).
func decodeStepBytes(_ model: TransformerModel) -> Int {
    func bytes(_ l: any LinearLayer) -> Int {
        switch l {
        case let w as W8A8Linear: return w.weight.count + 4 * w.scale.count
        case let n as NF4Linear: return n.inFeatures * n.outFeatures / 2 + 4 * n.inFeatures * n.outFeatures / n.weight.blockSize
        case is HalfLinear: return 2 * l.inFeatures * l.outFeatures
        default: return 4 * l.inFeatures * l.outFeatures
        }
    }
    let blocks = model.layers.flatMap { $0.linears.map(\.layer) }
    return (blocks + (model.head.lmHead.map { [$0] } ?? [])).map(bytes).reduce(0, +)
}

/// The f32 arrays a decode step of an f32 model reads (block linears and head).
func decodeStepArrays(_ model: TransformerModel) -> [[Float]] {
    let linears = model.layers.flatMap { $0.linears.map(\.layer) } + [model.head.lmHead].compactMap { $0 }
    return linears.compactMap { ($0 as? Linear)?.weight }
}

/// Wall and process CPU seconds of one pass reading `arrays` with `threads` threads (thread t sums
/// part t of every array).
func readPassSeconds(_ arrays: [[Float]], threads: Int) -> (wall: Double, cpu: Double) {
    let sink = UnsafeMutablePointer<Float>.allocate(capacity: threads)
    defer { sink.deallocate() }
    let (_, wall, cpu) = timed {
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var s: Float = 0
            for a in arrays {
                a.withUnsafeBufferPointer { p in
                    let lo = p.count * t / threads, hi = p.count * (t + 1) / threads
                    s += readSum(p.baseAddress! + lo, count: hi - lo)
                }
            }
            sink[t] = s
        }
    }
    return (wall, cpu)
}

/// The read bandwidth (GB/s, best and median of 7 passes) over the f32 model's step weights, and the
/// median process CPU seconds of a pass (the ceiling in tokens per CPU-second is its inverse: the
/// statistic that survives a shared machine). The weights first move to huge pages, as decoding does
/// (a KV cache asks for it): the ceiling is read from the pages the decode steps read.
func decodeReadCeiling(_ model: TransformerModel, threads: Int) -> (best: Double, median: Double, bytes: Int, cpu: Double) {
    model.backWeightsWithHugePages()
    let arrays = decodeStepArrays(model)
    let bytes = arrays.map { 4 * $0.count }.reduce(0, +)
    _ = readPassSeconds(arrays, threads: threads)
    let passes = (0..<7).map { _ in readPassSeconds(arrays, threads: threads) }
    let seconds = passes.map(\.wall).sorted()
    return (Double(bytes) / seconds[0] / 1e9, Double(bytes) / seconds[3] / 1e9, bytes, passes.map(\.cpu).sorted()[3])
}

/// Anonymous memory of this process in huge pages (MB, /proc/self/smaps_rollup `AnonHugePages`), nil off Linux.
func anonHugePagesMB() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/smaps_rollup", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("AnonHugePages:") }),
          let kB = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
    return kB / 1024
}

/// Seconds of one step's linears alone (every block linear and the head on one row, as a decode step
/// runs them: q, k, v and gate, up as one product where `fusedLinearForward` takes them, each with the
/// layer's own kernel and threads), median of 7: the step minus this is the work outside the linears
/// (norms, rotary, attention, argmax, hand-offs).
func decodeLinearsSeconds(_ model: TransformerModel) -> Double {
    var groups: [[any LinearLayer]] = model.layers.flatMap { l -> [[any LinearLayer]] in
        [[l.q, l.k, l.v], [l.o], l.gate.map { [$0, l.up] } ?? [l.up], [l.down]]
    }
    if let head = model.head.lmHead { groups.append([head]) }
    let width = groups.joined().map { max($0.inFeatures, $0.outFeatures) }.max() ?? 0
    let x = [Float](repeating: 0.01, count: width)
    var y = [Float](repeating: 0, count: width)
    func pass() -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        for g in groups {
            let input = Array(x[0..<g[0].inFeatures])
            if g.count > 1, fusedLinearForward(g, input, rows: 1) != nil { continue }
            input.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                for l in g { l.forward(yp.baseAddress!, xp.baseAddress!, rows: 1) }
            } }
        }
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
    _ = pass()
    return (0..<7).map { _ in pass() }.sorted()[3]
}
