import Foundation
import Whittle

// Pruning suite: FinerCut vs whole-block removal (perplexity at 10/25/40 % of sublayers), OPTIN vs
// magnitude / random at matched counts (SST-2 accuracy), and the sliced layout's measured speedup
// against its MAC reduction. Models: `WHITTLE_SHAKESPEARE` (default fixtures/models/shakespeare-llama),
// ../shared/models/stories260K and minilm-l6-sst2. `whittle-bench pruning [finercut|optin]`.

struct TokenizerEncoding: TextEncoding {
    let tokenizer: Tokenizer
    func encodeIDs(_ text: String, addSpecialTokens: Bool) throws -> [Int32] {
        tokenizer.encode(text, addSpecialTokens: addSpecialTokens).map(Int32.init)
    }
    func encodePairIDs(_ first: String, _ second: String) throws -> (ids: [Int32], typeIDs: [Int32]) {
        let e = tokenizer.encodePair(first, second)
        return (e.ids.map(Int32.init), e.typeIds.map(Int32.init))
    }
}

func benchRoot() -> String {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}

func sharedPath(_ relative: String) -> String {
    let root = ProcessInfo.processInfo.environment["WHITTLE_SHARED"] ?? (URL(fileURLWithPath: benchRoot()).deletingLastPathComponent().path + "/shared")
    return root + "/" + relative
}

/// `count` sequences of `length` ids sampled (temperature 1, seeded) from a causal LM, from BOS.
func sampleSequences(_ model: TransformerModel, count: Int, length: Int, bos: Int32, seed: UInt64) throws -> [[Int32]] {
    var rng = SeededGenerator(seed: seed)
    return try (0..<count).map { _ in
        var ids: [Int32] = [bos]
        while ids.count < length {
            let logits = try model.sequenceLogits(ids)
            let v = model.config.vocabSize, last = Array(logits[(logits.count - v)...])
            let m = last.max()!
            let p = last.map { exp(Double($0 - m)) }
            var u = Double(rng.next() >> 11) / Double(1 << 53) * p.reduce(0, +)
            var pick = v - 1
            for (j, pj) in p.enumerated() { u -= pj; if u <= 0 { pick = j; break } }
            ids.append(Int32(pick))
        }
        return ids
    }
}

func runPruningBench() throws {
    setvbuf(stdout, nil, _IOLBF, 0)
    let args = CommandLine.arguments
    let only = ["finercut", "optin", "fixtures"].filter { args.contains($0) }
    if only == ["fixtures"] { try writePruningFixtures(); return }
    if only.isEmpty || only.contains("finercut") { try finerCutBench() }
    if only.isEmpty || only.contains("optin") { try optinBench() }
}

// MARK: FinerCut

struct LMBenchCase {
    var name: String
    var model: String
    var calibration: [Example]
    var evalStream: [Int32]
    var seqLen: Int
}

func finerCutCases() throws -> [LMBenchCase] {
    var cases: [LMBenchCase] = []
    let shakes = ProcessInfo.processInfo.environment["WHITTLE_SHAKESPEARE"] ?? benchRoot() + "/fixtures/models/shakespeare-llama"
    let shakesData = ProcessInfo.processInfo.environment["WHITTLE_SHAKESPEARE_DATA"] ?? benchRoot() + "/fixtures/data"
    if FileManager.default.fileExists(atPath: shakes + "/config.json") {
        let enc = TokenizerEncoding(tokenizer: try Tokenizer.load(folder: shakes))
        let train = DataSource(data: shakesData + "/shakespeare-train.txt", samples: 16, seqLen: 128, seed: 0)
        let valid = DataSource(data: shakesData + "/shakespeare-valid.txt")
        cases.append(LMBenchCase(name: "shakespeare-llama", model: shakes,
                                 calibration: try train.calibrationExamples(encoder: enc),
                                 evalStream: try valid.tokenStream(encoder: enc), seqLen: 256))
    } else {
        print("shakespeare-llama absent at \(shakes) (set WHITTLE_SHAKESPEARE)")
    }
    let stories = sharedPath("models/stories260K")
    if FileManager.default.fileExists(atPath: stories + "/config.json") {
        // No tokenizer ships with stories260K: calibrate and evaluate on sequences sampled from the
        // model itself (seeded), disjoint seeds for calibration and evaluation.
        let m = try TransformerModel.load(path: stories)
        let calib = try sampleSequences(m, count: 10, length: 128, bos: 1, seed: 1).map { Example(ids: $0) }
        let eval = try sampleSequences(m, count: 8, length: 256, bos: 1, seed: 2).flatMap { $0 }
        cases.append(LMBenchCase(name: "stories260K", model: stories, calibration: calib, evalStream: eval, seqLen: 256))
    }
    return cases
}

func finerCutBench() throws {
    for c in try finerCutCases() {
        let network = try TransformerModel.load(path: c.model)
        let layers = network.config.numLayers
        let input = ModelInput(tokens: c.calibration.map { $0.ids.map(Int.init) })
        func ppl(_ removed: Set<SublayerID>) throws -> Double {
            network.skippedSublayers = removed
            defer { network.skippedSublayers = [] }
            return try network.perplexity(of: c.evalStream, seqLen: c.seqLen, file: c.name).perplexity
        }
        let t0 = Date()
        let order = try FinerCutPruning(removeCount: 0).removalOrder(network, input: input, count: 0)
        let seconds = Date().timeIntervalSince(t0)
        let block = try FinerCutPruning(removeCount: 0, baseline: .block).removalOrder(network, input: input, count: 0)
        let label: (RemovalStep) -> String = { "L\($0.sublayer.layer).\($0.sublayer.kind == .attention ? "attn" : "mlp")" }
        print("finercut \(c.name): \(2 * layers) sublayers, order computed in \(String(format: "%.1f", seconds)) s")
        print("  order: " + order.map { label($0) + String(format: "(%.2e)", $0.divergence) }.joined(separator: " "))
        print("  block order: " + block.map(label).joined(separator: " "))
        let base = try ppl([])
        print(String(format: "  unpruned perplexity %.3f", base))
        var speeds: [(Int, Set<SublayerID>)] = []
        print("  | removed | count | FinerCut ppl | block ppl | FinerCut/unpruned | block/unpruned | FinerCut attn removed |")
        for ratio in [0.10, 0.25, 0.40] {
            let k = max(1, Int((ratio * Double(2 * layers)).rounded()))
            let fc = Set(order.prefix(k).map(\.sublayer)), bl = Set(block.prefix(k).map(\.sublayer))
            let (pf, pb) = (try ppl(fc), try ppl(bl))
            print(String(format: "  | %.0f %% | %d | %.3f | %.3f | %.3f | %.3f | %d |", ratio * 100, k, pf, pb, pf / base, pb / base,
                         fc.filter { $0.kind == .attention }.count))
            speeds.append((k, fc))
        }
        // Measured speed of the pruned forward (removed sublayers are not run) vs its MAC reduction.
        let ids = [Array(c.evalStream.prefix(c.seqLen)).map(Int.init)]
        func best() throws -> Double { try (0..<5).map { _ in try timeIt { _ = try network.forward(ModelInput(tokens: ids)) } }.min()! }
        let tBase = try best()
        let macs = BlockMACs(model: network, seqLen: Double(c.seqLen))
        for (k, removed) in speeds {
            network.skippedSublayers = removed
            let t = try best()
            network.skippedSublayers = []
            let macRatio = (macs.blocks(skipping: removed) + macs.head) / macs.total
            print(String(format: "  speed: %d removed, MACs ×%.3f (blocks+head), time ×%.3f, speedup %.2fx (MAC-ideal %.2fx)", k, macRatio, t / tBase, tBase / t, 1 / macRatio))
        }
    }
}

// MARK: OPTIN

func timeIt(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

/// SST-2 train (first 4,000 lines), tokenized for `folder`'s model and shuffled with seed 0: the
/// calibration sentences are its prefix (`pruning optin` and `optin-speed` score the same ones).
func sst2ShuffledTrain(folder: String) throws -> [Example] {
    let enc = TokenizerEncoding(tokenizer: try Tokenizer.load(folder: folder))
    let labels = LabelSet(config: try Checkpoint(path: folder).config)
    var train = try DataSource(data: sharedPath("data/sst2/train.tsv"), maxExamples: 4000).labeledExamples(encoder: enc, labels: labels)
    var rng = SeededGenerator(seed: 0)
    train.shuffle(using: &rng)
    return train
}

func optinBench() throws {
    let folder = sharedPath("models/minilm-l6-sst2")
    guard FileManager.default.fileExists(atPath: folder + "/config.json") else { print("minilm-l6-sst2 absent"); return }
    let env = ProcessInfo.processInfo.environment
    let calibrationCount = Int(env["OPTIN_CALIBRATION"] ?? "16")!
    let evalCount = Int(env["OPTIN_EVAL"] ?? "872")!
    let enc = TokenizerEncoding(tokenizer: try Tokenizer.load(folder: folder))
    let checkpoint = try Checkpoint(path: folder)
    let labels = LabelSet(config: checkpoint.config)
    let train = try sst2ShuffledTrain(folder: folder)
    let calibration = Array(train.prefix(calibrationCount))
    // Options are chosen on a validation split carved from train (seeded shuffle, disjoint from the
    // calibration sentences); dev is reported once, for the chosen variant and the baselines.
    let validation = Array(train.dropFirst(calibrationCount).prefix(Int(env["OPTIN_VALIDATION"] ?? "872")!))
    let dev = Array(try DataSource(data: sharedPath("data/sst2/dev.tsv")).labeledExamples(encoder: enc, labels: labels).prefix(evalCount))
    let gold = dev.map { $0.label! }
    let network = try TransformerModel.load(from: checkpoint)
    func accuracyOf(_ m: TransformerModel, on set: [Example]? = nil) throws -> Double {
        let examples = set ?? dev
        return Evaluation.accuracy(predictions: try m.predictions(examples), labels: examples.map { $0.label! })
    }
    let base = try accuracyOf(network)
    print(String(format: "optin minilm-l6-sst2: unpruned dev accuracy %.4f (%d examples), calibration %d SST-2 train sentences", base, dev.count, calibration.count))

    let pass = OptinPruning(excludePadding: env["OPTIN_PADDED"] == nil)
    let reporter = ProgressReporter(start: { label, total in FileHandle.standardError.write("\(label): \(total)\n".data(using: .utf8)!) },
                                    update: { done in if done % 1024 < 32 { FileHandle.standardError.write("  \(done)\n".data(using: .utf8)!) } },
                                    finish: {})
    var scores: OptinScores? = nil
    var seconds = 0.0
    if let path = env["OPTIN_SCORES_IN"] {
        scores = try JSONDecoder().decode(OptinScores.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    } else {
        seconds = try timeIt { scores = try pass.scores(network, calibration: calibration, progress: reporter, seed: 0) }
    }
    print(String(format: "  scored %d units in %.1f s (%d calibration tokens, exclude_padding %@)", scores!.units.count, seconds,
                 calibration.reduce(0) { $0 + $1.ids.count }, pass.excludePadding ? "on" : "off"))
    if let path = env["OPTIN_SCORES_OUT"] { try JSONEncoder().encode(scores!).write(to: URL(fileURLWithPath: path)) }

    func prune(_ plan: PruningPlan, layout: PrunedLayout = .sliced) throws -> TransformerModel {
        let store = EditableCheckpoint(source: checkpoint)
        try plan.write(into: store, layout: layout)
        return try TransformerModel.load(from: store)
    }
    func evaluate(_ plan: PruningPlan, layout: PrunedLayout = .sliced) throws -> (Double, TransformerModel) {
        let pruned = try prune(plan, layout: layout)
        return (try accuracyOf(pruned), pruned)
    }
    print(String(format: "  unpruned validation accuracy %.4f (%d SST-2 train sentences, disjoint from calibration)", try accuracyOf(network, on: validation), validation.count))
    let sst2MeanLength = 25.16   // ALGORITHMS.md §1.3 (SST-2 dev average length)
    print("  | flops_ratio | method | heads kept | neurons kept | MAC reduction | dev accuracy | accuracy / unpruned |")
    var slicedModels: [(Double, TransformerModel, Double)] = []
    for ratio in [0.6, 0.5] {
        var variants: [(String, OptinPruning)] = []
        let rows = pass.excludePadding ? "real-token rows" : "padded rows (reference)"
        var v = OptinPruning(flopsRatio: ratio); variants.append(("OPTIN, \(rows)", v))
        v = OptinPruning(flopsRatio: ratio, perLayerNormalization: true); variants.append(("OPTIN, \(rows), per-layer normalisation", v))
        v = OptinPruning(flopsRatio: ratio); v.indexWeights = true; variants.append(("OPTIN, \(rows), index_weights quirk", v))
        var chosen: (validation: Double, name: String, plan: PruningPlan, reduction: Double)? = nil
        var matched: (Int, Int)? = nil
        for (name, o) in variants {
            let (plan, _) = try o.plan(network, scores: scores, macSeqLen: sst2MeanLength)
            let mac = OptinMACModel(hidden: network.config.hidden, headDim: network.config.headDim, seqLen: sst2MeanLength)
            let reduction = 1 - mac.macs(heads: plan.keptHeadCount, neurons: plan.keptNeuronCount) / mac.macs(heads: 72, neurons: 6 * 1536)
            let pruned = try prune(plan)
            let val = try accuracyOf(pruned, on: validation)
            if matched == nil { matched = (plan.keptHeadCount, plan.keptNeuronCount) }
            if chosen == nil || val > chosen!.validation { chosen = (val, name, plan, reduction) }
            if variants.first!.0 == name { slicedModels.append((ratio, pruned, reduction)) }
            print(String(format: "  | %.1f | %@ | %d | %d | %.3f | validation %.4f |", ratio, name, plan.keptHeadCount, plan.keptNeuronCount, reduction, val))
        }
        let (devAccuracy, _) = try evaluate(chosen!.plan)
        print(String(format: "  | %.1f | chosen on validation: %@ | %d | %d | %.3f | dev %.4f | %.3f |", ratio, chosen!.name,
                     chosen!.plan.keptHeadCount, chosen!.plan.keptNeuronCount, chosen!.reduction, devAccuracy, devAccuracy / base))
        for (name, ranking, seeds) in [("magnitude at matched counts", OptinPruning.Ranking.magnitude, [UInt64(0)]),
                                       ("random at matched counts", OptinPruning.Ranking.random, [UInt64(1), 2, 3])] {
            var accs: [Double] = []
            for seed in seeds {
                var o = OptinPruning(flopsRatio: ratio, ranking: ranking)
                o.matchHeads = matched!.0; o.matchNeurons = matched!.1
                let (plan, _) = try o.plan(network, scores: nil, macSeqLen: sst2MeanLength, seed: seed)
                accs.append(try evaluate(plan).0)
            }
            let mean = accs.reduce(0, +) / Double(accs.count)
            print(String(format: "  | %.1f | %@ | %d | %d | same | %.4f | %.3f |", ratio, name + (seeds.count > 1 ? " (mean of \(seeds.count) seeds: " + accs.map { String(format: "%.4f", $0) }.joined(separator: ", ") + ")" : ""),
                         matched!.0, matched!.1, mean, mean / base))
        }
    }
    // Measured speedup of the sliced layout on the dev sentences vs the MAC reduction.
    let sample = Array(dev.prefix(200))
    let t0 = try (0..<3).map { _ in try timeIt { _ = try network.predictions(sample) } }.min()!
    for (ratio, pruned, reduction) in slicedModels {
        let t = try (0..<3).map { _ in try timeIt { _ = try pruned.predictions(sample) } }.min()!
        print(String(format: "  sliced flops_ratio %.1f: MAC reduction %.3f (blocks), time ratio %.3f → speedup %.2fx (ideal on blocks %.2fx)",
                     ratio, reduction, t / t0, t0 / t, 1 / (1 - reduction)))
    }
}

// MARK: fixtures for the transformers parity test

/// Writes small pruned checkpoints into fixtures/pruning/ (zeroed layout, loadable by transformers);
/// tools/reference/pruning_finercut.py then records transformers' logits on them.
func writePruningFixtures() throws {
    let root = benchRoot()
    func save(_ store: EditableCheckpoint, from input: String, to name: String) throws {
        let out = try OutputFolder(destination: root + "/fixtures/pruning/" + name, input: input, force: true)
        try out.prepare()
        try out.writeModel(store, inputFiles: [input + "/model.safetensors"])
        try out.commit()
        print("wrote fixtures/pruning/\(name)")
    }
    // FinerCut on stories260K: the first 4 of the order (layer 4 dropped entirely, 2 attention sublayers zeroed).
    let stories = root + "/fixtures/models/stories260K"
    let text = try String(contentsOfFile: root + "/fixtures/eval/stories260k_samples.tokens", encoding: .utf8)
    let calibration = text.split(separator: "\n").prefix(2).map { Example(ids: $0.split(separator: " ").prefix(64).map { Int32($0)! }) }
    let s1 = EditableCheckpoint(source: try Checkpoint(path: stories))
    _ = try FinerCutPruning(removeCount: 4).apply(to: s1, context: PassContext(calibration: calibration))
    try save(s1, from: stories, to: "stories260K-finercut4-zeroed")
    // OPTIN on the tiny random BERT classifier at flops_ratio 0.5.
    let bert = root + "/fixtures/models-reference/bert_classifier"
    let sentences: [[Int32]] = [[2, 10, 11, 12, 3], [2, 20, 21, 3], [2, 30, 31, 32, 33, 34, 3], [2, 40, 41, 42, 3]]
    let s2 = EditableCheckpoint(source: try Checkpoint(path: bert))
    _ = try OptinPruning(flopsRatio: 0.5).apply(to: s2, context: PassContext(calibration: sentences.map { Example(ids: $0, tokenTypes: $0.map { _ in 0 }, label: 0) }))
    try save(s2, from: bert, to: "bert-optin50-zeroed")
}
