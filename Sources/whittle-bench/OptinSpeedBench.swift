import Foundation
import Whittle

// OPTIN scoring speed (issue 20): our trajectory scorer against tools/reference/optin_scoring_port.py
// (the reference loop in PyTorch: one unit at a time, a whole forward of the padded batch, same threads)
// on ../shared/models/minilm-l6-sst2 with the first 4 and 16 sentences of the shuffled SST-2 train
// (`pruning optin`'s calibration). Runs alternate ours / port; wall and process CPU seconds per run,
// ratio of medians, our FLOP count, GFLOP/s and the fraction of the 2-thread sgemm ceiling measured
// in the same run; scores compared (largest relative difference, units selected at flops_ratio 0.6).
// `whittle-bench optin-speed [sentences=4,16] [runs=3] [port-runs=N] [port-limit=N] [port-scores=PATH] [threads=2]`
// `port-limit=N` scores only the first N heads and N neurons of each layer on the port and scales its
// times to all units (its work per unit is the same: one whole forward each), for a loaded machine;
// the scores are then compared on those units and the selection is not compared.

private func cpuSecondsNow() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

private func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? .nan : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

private func range(_ xs: [Double]) -> String {
    String(format: "%.1f (%.1f–%.1f)", median(xs), xs.min() ?? .nan, xs.max() ?? .nan)
}

func runOptinSpeedBench() throws {
    setvbuf(stdout, nil, _IOLBF, 0)   // a line at a time into a log (runs take minutes)
    var options: [String: String] = [:]
    for a in CommandLine.arguments.dropFirst() { let kv = a.split(separator: "=", maxSplits: 1); if kv.count == 2 { options[String(kv[0])] = String(kv[1]) } }
    let sentenceCounts = (options["sentences"] ?? "4,16").split(separator: ",").compactMap { Int($0) }
    let runs = Int(options["runs"] ?? "3") ?? 3
    let portRuns = Int(options["port-runs"] ?? "\(runs)") ?? runs
    let threads = Int(options["threads"] ?? "2") ?? 2
    let portLimit = Int(options["port-limit"] ?? "0") ?? 0
    Threads.set(threads)
    let folder = sharedPath("models/minilm-l6-sst2")
    guard FileManager.default.fileExists(atPath: folder + "/config.json") else { print("minilm-l6-sst2 absent (\(folder))"); return }
    let train = try sst2ShuffledTrain(folder: folder)
    let network = try TransformerModel.load(from: try Checkpoint(path: folder))
    let pass = OptinPruning(excludePadding: true)
    let tmp = NSTemporaryDirectory() + "whittle-optin-speed-\(getpid())"
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    let c = network.config.hidden, f = network.layers[0].ffnWidth
    func ceiling() -> Double { sgemmCeiling(rows: 2048, shapes: [(n: f, k: c), (n: c, k: f), (n: c, k: c)]) }
    print("optin-speed: minilm-l6-sst2, \(threads) threads, runs alternate ours / PyTorch port (tools/reference/optin_scoring_port.py)")
    for n in sentenceCounts {
        let calibration = Array(train.prefix(n))
        let tokens = calibration.reduce(0) { $0 + $1.ids.count }
        let calibPath = tmp + "/calibration-\(n).json", portOut = tmp + "/port-\(n).json"
        let json = calibration.map { ["ids": $0.ids.map(Int.init), "token_types": ($0.tokenTypes ?? $0.ids.map { _ in 0 }).map(Int.init)] }
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: calibPath))
        var ourWall: [Double] = [], ourCPU: [Double] = [], portWall: [Double] = [], portCPU: [Double] = [], ceilings: [Double] = []
        var scores: OptinScores? = nil
        for r in 0..<max(runs, portRuns) {
            ceilings.append(ceiling())
            if r < runs {
                let cpu0 = cpuSecondsNow()
                ourWall.append(try timeIt { scores = try pass.scores(network, calibration: calibration, seed: 0) })
                ourCPU.append(cpuSecondsNow() - cpu0)
                print(String(format: "  %d sentences run %d: ours %.1f s wall, %.1f s CPU", n, r + 1, ourWall.last!, ourCPU.last!))
            }
            if r < portRuns {
                guard let result = runPythonPeer(script: "tools/reference/optin_scoring_port.py",
                                                 ["--model", folder, "--calibration", calibPath, "--out", portOut, "--threads", "\(threads)",
                                                  "--limit", "\(portLimit)"]),
                      let wall = result["wall"] as? Double, let cpu = result["cpu"] as? Double, let scored = result["units"] as? Int else {
                    print("  PyTorch port unavailable or failed (WHITTLE_PYTHON, tools/reference/optin_scoring_port.py)"); break
                }
                let scale = Double(network.headCounts.reduce(0, +) + network.ffnWidths.reduce(0, +)) / Double(scored)
                portWall.append(wall * scale); portCPU.append(cpu * scale)
                print(String(format: "  %d sentences run %d: port %.1f s wall, %.1f s CPU%@", n, r + 1, wall * scale, cpu * scale,
                             scale == 1 ? "" : String(format: " (%d units in %.1f s wall, %.1f s CPU, scaled ×%.2f)", scored, wall, cpu, scale)))
            }
        }
        guard let ours = scores else { continue }
        let flops = try pass.scoringFLOPs(network, calibration: calibration)
        let rate = flops / median(ourWall) / 1e9, ceil = median(ceilings)
        print(String(format: "optin-speed %d sentences (%d real tokens, %d units): ours %@ s wall, %@ s CPU (%d runs)", n, tokens,
                     ours.units.count, range(ourWall), range(ourCPU), ourWall.count))
        print(String(format: "  our FLOPs %.2f TFLOP (%.1f MFLOP per unit): %.1f GFLOP/s = %.2f × sgemm ceiling (%.1f GFLOP/s, %d threads, median of %d)",
                     flops / 1e12, flops / Double(ours.units.count) / 1e6, rate, rate / ceil, ceil, threads, ceilings.count))
        if let path = options["port-scores"] {   // a full port run saved earlier (its --out), same sentences
            print("  against \(path):"); try compareWithPort(ours, portPath: path, network: network, pass: pass, calibration: calibration)
        }
        guard !portWall.isEmpty else { continue }
        print(String(format: "  PyTorch port %@ s wall, %@ s CPU (%d runs); port ÷ ours, medians: wall %.2f×, CPU %.2f×", range(portWall),
                     range(portCPU), portWall.count, median(portWall) / median(ourWall), median(portCPU) / median(ourCPU)))
        try compareWithPort(ours, portPath: portOut, network: network, pass: pass, calibration: calibration)
    }
}

/// Largest relative term differences and the units selected at flops_ratio 0.6 from both score sets.
private func compareWithPort(_ ours: OptinScores, portPath: String, network: TransformerModel, pass: OptinPruning,
                             calibration: [Example]) throws {
    guard let port = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: portPath))) as? [String: Any],
          let units = port["units"] as? [[Any]], let md = port["md"] as? [Double], let kl = port["kl"] as? [Double] else {
        print("  \(portPath): not the port's JSON (units, md, kl)"); return
    }
    let portUnits = units.map { PrunableUnit(($0[0] as? String) == "head" ? .head : .neuron, layer: $0[1] as? Int ?? -1, index: $0[2] as? Int ?? -1) }
    let index = Dictionary(uniqueKeysWithValues: ours.units.enumerated().map { ($1, $0) })
    guard portUnits.allSatisfy({ index[$0] != nil }) else { print("  port units are not ours"); return }
    let theirs = OptinScores(units: portUnits, terms: zip(md, kl).map { TrajectoryTerms(md: $0, kl: $1) }, excludePadding: true)
    func rel(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), 1e-12) }
    let pairs = zip(portUnits, theirs.terms).map { (ours.terms[index[$0]!], $1) }
    let mdDiff = pairs.map { rel($0.md, $1.md) }.max() ?? 0
    let klDiff = pairs.map { rel($0.kl, $1.kl) }.max() ?? 0
    guard portUnits == ours.units else {
        print(String(format: "  scores vs port on its %d units: largest relative difference md %.2e, kl %.2e (selection compared on full runs only)",
                     portUnits.count, mdDiff, klDiff))
        return
    }
    let s = Double(calibration.reduce(0) { $0 + $1.ids.count }) / Double(calibration.count)
    let a = try pass.plan(network, scores: ours, macSeqLen: s).0, b = try pass.plan(network, scores: theirs, macSeqLen: s).0
    print(String(format: "  scores vs port: largest relative difference md %.2e, kl %.2e; selected units at flops_ratio 0.6 %@ (%d heads, %d neurons kept)",
                 mdDiff, klDiff, a == b ? "identical" : "DIFFER", a.keptHeadCount, a.keptNeuronCount))
}
