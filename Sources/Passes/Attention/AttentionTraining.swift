import Foundation
import Checkpoints
import Datasets
import Models
import Training

/// The training keys the attention passes share with `finetune` (same names, same meaning): the
/// converted model is trained by `FineTuning` on the recipe's training data (ALGORITHMS.md §3.3:
/// AdamW, linear warm-up and decay, weight decay, gradient clipping at 1.0).
enum AttentionTrainingKey: String, CodingKey, CaseIterable {
    case lr, steps, epochs, batchSize = "batch_size", gradientAccumulation = "gradient_accumulation", warmupSteps = "warmup_steps"
    case warmupRatio = "warmup_ratio", schedule, weightDecay = "weight_decay", maxGradNorm = "max_grad_norm"
    case maxLength = "max_length", seed
}

extension FineTuning {
    /// The attention passes' training defaults: `finetune`'s, with lr 1e-4 and weight decay 0.1 (§3.3, OPT).
    static var attentionDefaults: FineTuning {
        var t = FineTuning()
        t.lr = 1e-4; t.weightDecay = 0.1
        return t
    }

    /// Overwrites the shared training keys present in `decoder` (a pass that also has its own keys).
    mutating func update(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AttentionTrainingKey.self)
        try c.update(&lr, .lr)
        try c.update(&steps, .steps)
        try c.update(&epochs, .epochs)
        try c.update(&batchSize, .batchSize)
        try c.update(&gradientAccumulation, .gradientAccumulation)
        try c.update(&warmupSteps, .warmupSteps)
        try c.update(&warmupRatio, .warmupRatio)
        try c.update(&schedule, .schedule)
        try c.update(&weightDecay, .weightDecay)
        try c.update(&maxGradNorm, .maxGradNorm)
        try c.update(&maxLength, .maxLength)
        try c.update(&seed, .seed)
    }

    func encodeTrainingKeys(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AttentionTrainingKey.self)
        try c.encode(lr, forKey: .lr)
        try c.encodeIfPresent(steps, forKey: .steps)
        try c.encode(epochs, forKey: .epochs)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(gradientAccumulation, forKey: .gradientAccumulation)
        try c.encodeIfPresent(warmupSteps, forKey: .warmupSteps)
        try c.encode(warmupRatio, forKey: .warmupRatio)
        try c.encode(schedule, forKey: .schedule)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encode(maxGradNorm, forKey: .maxGradNorm)   // null: no clipping (absent would mean the default)
        try c.encodeIfPresent(maxLength, forKey: .maxLength)
        try c.encodeIfPresent(seed, forKey: .seed)
    }

    /// Trains the (already converted) checkpoint and returns fine-tuning's report under `kind`.
    func train(_ model: EditableCheckpoint, context: PassContext, kind: String) throws -> PassReport {
        do {
            return try apply(to: model, context: context)
        } catch let e as PassError where e.path.hasPrefix(Self.kind) {
            throw PassError(kind + e.path.dropFirst(Self.kind.count), e.message)
        }
    }
}

/// A pass's own keys plus the shared training keys; any other key is an error (`passKeys`).
func attentionPassKeys<Own: CodingKey & CaseIterable>(_ decoder: Decoder, _ own: Own.Type) throws -> KeyedDecodingContainer<Own> {
    try decoder.passKeys(Own.self, alsoAllowing: AttentionTrainingKey.allCases.map(\.stringValue) + ScratchInit.keys)
}

/// The checkpoint's `whittle` section, changed by `edit` and written back into `config.json`.
func editWhittle(_ model: EditableCheckpoint, _ edit: (inout WhittleConfig) throws -> Void) throws {
    var w = try WhittleConfig.read(from: model.config)
    try edit(&w)
    model.config["whittle"] = w.jsonObject
}

/// Export honesty: how far what a stock loader computes from the written checkpoint (`stock`
/// changes the loaded model or the forward into it: gates dropped, plain softmax) is from what our
/// runtime computes, on up to 8 `examples`: relative L2 change of the logits, argmax agreement and,
/// for causal LMs, the next-token perplexity of both (ours, stock).
func stockLoaderDifference(_ model: EditableCheckpoint, examples: [Example],
                           stock: (TransformerModel, inout ForwardOptions) -> Void) throws
    -> (relativeError: Double, argmaxAgreement: Double, perplexity: (ours: Double, stock: Double)?) {
    let ours = try TransformerModel.load(from: model), theirs = try TransformerModel.load(from: model)
    var options = ForwardOptions()
    stock(theirs, &options)
    var diff = 0.0, norm = 0.0, agree = 0, rows = 0, nllOurs = 0.0, nllStock = 0.0, tokens = 0
    for e in examples.prefix(8) {
        let input = ModelInput(tokens: [e.ids.map(Int.init)], tokenTypes: e.tokenTypes.map { [$0.map(Int.init)] })
        let a = try ours.forward(input), b = try theirs.forward(input, options: options)
        if ours.config.isCausalLM {
            let x = StaticW8A8Probe.nextTokenNLL(a.logits, ids: e.ids), y = StaticW8A8Probe.nextTokenNLL(b.logits, ids: e.ids)
            nllOurs += x.0; nllStock += y.0; tokens += x.1
        }
        for (x, y) in zip(a.logits, b.logits) { diff += Double(x - y) * Double(x - y); norm += Double(x) * Double(x) }
        let width = a.shape.last!
        for r in 0..<(a.logits.count / width) {
            let ra = a.logits[(r * width)..<((r + 1) * width)], rb = b.logits[(r * width)..<((r + 1) * width)]
            if ra.indices.max(by: { ra[$0] < ra[$1] }) == rb.indices.max(by: { rb[$0] < rb[$1] }) { agree += 1 }
            rows += 1
        }
    }
    let perplexity = tokens > 0 ? (exp(nllOurs / Double(tokens)), exp(nllStock / Double(tokens))) : nil
    return ((diff / max(norm, 1e-30)).squareRoot(), Double(agree) / Double(max(rows, 1)), perplexity)
}

extension PassReport {
    /// Records `stockLoaderDifference` as metrics and one note: `what` a stock loader computes instead.
    mutating func recordStockLoader(_ stock: (relativeError: Double, argmaxAgreement: Double, perplexity: (ours: Double, stock: Double)?),
                                    examples: Int, declared: String, what: String) {
        metrics["stock_loader_logits_relative_error"] = stock.relativeError
        metrics["stock_loader_argmax_agreement"] = stock.argmaxAgreement
        var note = String(format: "%@; our runtime runs it. Stock loaders (transformers) %@: on %d training examples their logits differ by %.4g (relative L2), argmax agreement %.4f",
                          declared, what, examples, stock.relativeError, stock.argmaxAgreement)
        if let p = stock.perplexity {
            metrics["stock_loader_perplexity"] = p.stock
            metrics["whittle_runtime_perplexity"] = p.ours
            note += String(format: ", next-token perplexity %.3f (ours) vs %.3f (stock)", p.ours, p.stock)
        }
        notes.append(note)
    }
}
