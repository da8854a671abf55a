import Foundation
import Checkpoints
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which weights a quantization pass touches. `targets` and `ignore` share one vocabulary (as in
/// llm-compressor): an exact module name (`model.layers.0.mlp.up_proj`), a glob (`*.mlp.*`), a `re:`
/// regular expression searched in the module name, or the word `Linear` — every 2-D `*.weight` inside a numbered
/// transformer block (`layers.N.`, `layer.N.`, `h.N.`, `blocks.N.`). Embeddings, norms, `lm_head` and
/// classifier heads are protected: never quantized unless named exactly in `targets`.
public struct TensorTargets: Sendable, Equatable {
    public var targets: [String]
    public var ignore: [String]

    public static let defaultTargets = ["Linear"]
    static let blockPattern = try! NSRegularExpression(pattern: #"(^|\.)(layers|layer|h|blocks|block)\.\d+\."#)
    static let protectedWords = ["embed", "norm", "lm_head", "classifier", "score", "pooler", "wte", "wpe", "ln_"]

    public init(targets: [String] = defaultTargets, ignore: [String] = []) {
        self.targets = targets; self.ignore = ignore
    }

    /// Checks `re:` patterns compile; errors name the recipe path.
    public func validate(path: String) throws {
        for (key, list) in [("targets", targets), ("ignore", ignore)] {
            for entry in list where entry.hasPrefix("re:") {
                do { _ = try NSRegularExpression(pattern: String(entry.dropFirst(3))) } catch {
                    throw PassError("\(path).\(key)", "'\(entry)' is not a valid regular expression")
                }
            }
            if list.contains(where: \.isEmpty) { throw PassError("\(path).\(key)", "entries must be non-empty") }
        }
        if targets.isEmpty { throw PassError("\(path).targets", "must name at least one target (e.g. \"Linear\")") }
    }

    /// The module name of a weight (`a.b.weight` → `a.b`), or nil for tensors that are not weights.
    public static func module(of tensorName: String) -> String? {
        tensorName.hasSuffix(".weight") ? String(tensorName.dropLast(".weight".count)) : nil
    }

    static func matches(_ entry: String, module: String) -> Bool {
        if entry.hasPrefix("re:") {
            let re = try! NSRegularExpression(pattern: String(entry.dropFirst(3)))
            return re.firstMatch(in: module, range: NSRange(module.startIndex..., in: module)) != nil
        }
        if entry == "Linear" { return isBlockLinear(module) }
        if entry.contains("*") || entry.contains("?") || entry.contains("[") { return fnmatch(entry, module, 0) == 0 }
        return entry == module
    }

    /// Gated attention's gate (`…self_attn.gate`, `FamilyLayout.attentionGate`): Whittle's own tensors, not
    /// an `nn.Linear` stock loaders build, so never a "Linear" target nor a skipped module.
    static func isAttentionGate(_ module: String) -> Bool { module.hasSuffix(".gate") }

    static func isBlockLinear(_ module: String) -> Bool {
        if isAttentionGate(module) { return false }
        let lower = module.lowercased()
        guard blockPattern.firstMatch(in: module, range: NSRange(module.startIndex..., in: module)) != nil else { return false }
        return !protectedWords.contains { lower.contains($0) }
    }

    static func isEmbedding(_ module: String) -> Bool {
        let lower = module.lowercased()
        return ["embed", "wte", "wpe"].contains { lower.contains($0) }
    }

    static func isProtected(_ module: String) -> Bool {
        let lower = module.lowercased()
        return protectedWords.contains { lower.contains($0) }
    }

    /// Whether the 2-D weight `tensorName` is quantized.
    public func selects(_ tensorName: String, shape: [Int]) -> Bool {
        guard shape.count == 2, let module = Self.module(of: tensorName) else { return false }
        if ignore.contains(where: { Self.matches($0, module: module) }) { return false }
        if Self.isProtected(module) { return targets.contains(module) }
        return targets.contains { Self.matches($0, module: module) }
    }

    /// Weight tensors of `model` that are selected, in model order.
    public func selected(in model: TensorStore) -> [TensorSpec] {
        model.names.compactMap { model.spec($0) }.filter { selects($0.name, shape: $0.shape) }
    }

    /// 2-D weights that are not selected (the modules listed as skipped in `quantization_config`).
    public func skippedModules(in model: TensorStore) -> [String] {
        model.names.compactMap { model.spec($0) }
            .filter { $0.shape.count == 2 && !selects($0.name, shape: $0.shape) }
            .compactMap { Self.module(of: $0.name) }.filter { !Self.isAttentionGate($0) }
    }
}

