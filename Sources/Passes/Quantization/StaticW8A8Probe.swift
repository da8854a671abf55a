import Foundation
import Datasets
import Kernels
import Models

/// Static W8A8 as a measurement (ALGORITHMS.md §3.5): calibrate per-tensor activation ranges at every
/// linear input over the calibration batches, then run the model with weights fake-quantized
/// (symmetric per tensor, MSE grid range) and linear inputs fake-quantized (asymmetric per tensor),
/// and compare its logits with the float model's. A model whose outputs move little is
/// "quantization-friendly".
public struct StaticW8A8Probe {
    /// The linear inputs observed: q/k/v input, o input, gate/up input, down input.
    public static let points: [CapturePoint] = [.attentionInput, .attentionContext, .ffnInput, .ffnActivation]

    public struct Result {
        public var ranges: [CaptureKey: RangeObserver]
        /// ‖logits_q − logits‖ / ‖logits‖ over the calibration batches.
        public var logitsRelativeError: Double
        /// Fraction of positions (LM) or examples (classifier) whose argmax is unchanged.
        public var argmaxAgreement: Double
        /// Causal LMs: next-token perplexity of the float and the static W8A8 model on the calibration
        /// windows themselves (the ranges' own data, so an in-sample measure of the W8A8 gap); nil otherwise.
        public var floatPerplexity: Double? = nil
        public var quantizedPerplexity: Double? = nil
    }

    /// Summed next-token negative log-likelihood of `logits [T, V]` for `ids`, and the count.
    public static func nextTokenNLL(_ logits: [Float], ids: [Int32]) -> (Double, Int) {
        let v = logits.count / max(ids.count, 1)
        var nll = 0.0
        for t in 0..<max(ids.count - 1, 0) {
            let row = logits[(t * v)..<((t + 1) * v)]
            let m = Double(row.max()!)
            let lse = m + log(row.reduce(0.0) { $0 + exp(Double($1) - m) })
            nll += lse - Double(row[row.startIndex + Int(ids[t + 1])])
        }
        return (nll, max(ids.count - 1, 0))
    }

    public let observer: ActivationObserverKind
    public init(observer: ActivationObserverKind) { self.observer = observer }

    static func input(_ e: Example) -> ModelInput {
        ModelInput(tokens: [e.ids.map(Int.init)], tokenTypes: e.tokenTypes.map { [$0.map(Int.init)] })
    }

    public func run(model: TransformerModel, calibration: [Example]) throws -> Result {
        // 1. Calibrate activation ranges (one example per batch, as the running observer expects).
        var ranges: [CaptureKey: RangeObserver] = [:]
        var reference: [[Float]] = []
        for e in calibration {
            let out = try model.forward(Self.input(e), options: ForwardOptions(capture: Set(Self.points)))
            for (key, act) in out.captures {
                ranges[key, default: RangeObserver(kind: observer)].observe(act.values)
            }
            reference.append(out.logits)
        }
        // 2. Fake-quantize weights in place (restored afterwards).
        var saved: [(Linear, [Float])] = []
        for layer in model.layers {
            for case let linear as Linear in layer.linears.map(\.layer) {
                saved.append((linear, linear.weight))
                let scale = int8SymmetricScale(absmax: StaticQuantizers.mseSymmetricAlpha(linear.weight))
                linear.weight = linear.weight.map { int8FakeQuantize($0, scale: scale) }
            }
        }
        defer { for (linear, weight) in saved { linear.weight = weight } }
        // 3. Run with fake-quantized linear inputs.
        let params = ranges.compactMapValues(\.params)
        var num = 0.0, den = 0.0, agree = 0, total = 0
        var nllFloat = 0.0, nllQuant = 0.0, tokens = 0
        for (e, ref) in zip(calibration, reference) {
            let fakeQuant = SiteHook(Set(Self.points), .transform { key in
                params[key].map { p in
                    SiteTransform.straightThrough { buffer, _ in uint8AsymmetricFakeQuantize(buffer.baseAddress!, count: buffer.count, p) }
                }
            })
            let options = ForwardOptions(capture: Set(Self.points), hooks: [fakeQuant])
            let out = try model.forward(Self.input(e), options: options)
            for i in ref.indices {
                let d = Double(out.logits[i] - ref[i]); num += d * d; den += Double(ref[i]) * Double(ref[i])
            }
            if model.config.isCausalLM {
                let f = Self.nextTokenNLL(ref, ids: e.ids), q = Self.nextTokenNLL(out.logits, ids: e.ids)
                nllFloat += f.0; nllQuant += q.0; tokens += f.1
            }
            let width = out.shape.last ?? 1
            for row in stride(from: 0, to: ref.count, by: width) {
                let a = ref[row..<(row + width)].indices.max { ref[$0] < ref[$1] }
                let b = out.logits[row..<(row + width)].indices.max { out.logits[$0] < out.logits[$1] }
                agree += a == b ? 1 : 0; total += 1
            }
        }
        return Result(ranges: ranges, logitsRelativeError: den == 0 ? 0 : (num / den).squareRoot(),
                      argmaxAgreement: total == 0 ? 1 : Double(agree) / Double(total),
                      floatPerplexity: tokens > 0 ? exp(nllFloat / Double(tokens)) : nil,
                      quantizedPerplexity: tokens > 0 ? exp(nllQuant / Double(tokens)) : nil)
    }
}
