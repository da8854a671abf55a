import Kernels
import Models

/// Teacher intervention (Kim et al., EACL 2023; ALGORITHMS.md §4.3): in every layer at once, a part
/// of the student's self-attention is replaced by the teacher's value on the same batch, with the
/// gradient stopped (`SiteHook(.replace)`), so quantization error does not propagate through it.
///
/// | case | replaced site | projection inputs detached |
/// |---|---|---|
/// | `map` (TI-M) | `.probabilities` | q, k |
/// | `context` (TI-C) | `.attentionContext` | q, k, v |
/// | `output` (TI-O) | `.attentionOutput` | q, k, v |
///
/// "Q, K from a detached copy of the layer input" with our hooks: a replaced site stops the
/// gradient of everything *after* it, but the student's own scores still enter L_attn, and without
/// the detach that loss would reach the earlier layers through q and k (and their inputs' norms and
/// quantizers). `TrainableModel.forward(_:options:detachingInputsOf:tape:)` makes the listed
/// projections read their input as a constant: W_q, W_k (and W_v) still learn from L_attn, the
/// layer input does not. V keeps its gradient under TI-M: the teacher's map mixes the student's V,
/// and that is the path through which the attention sublayer passes gradient back. Under TI-C and
/// TI-O nothing reaches V anyway; the detach there only matches the reference.
public enum TeacherIntervention: String, Codable, Sendable, CaseIterable {
    case none, map, context, output

    /// The site whose values come from the teacher.
    public var replacedSite: CapturePoint? {
        switch self {
        case .none: return nil
        case .map: return .probabilities
        case .context: return .attentionContext
        case .output: return .attentionOutput
        }
    }

    /// Projections whose input the student reads detached.
    public var detachedInputs: Set<LinearRole> {
        switch self {
        case .none: return []
        case .map: return [.q, .k]
        case .context, .output: return [.q, .k, .v]
        }
    }

    /// The replace hook (every layer) from a teacher forward that captured `replacedSite`; nil for `none`.
    public func hook(teacher: ForwardOutput) -> SiteHook? {
        guard let site = replacedSite else { return nil }
        return SiteHook([site], .replace { key in teacher.captures[key]?.values })
    }
}

/// Gradual intervention (TI-G, ALGORITHMS.md §4.4) over the `steps` iterations of step 1.
public enum InterventionSchedule: String, Codable, Sendable, CaseIterable {
    /// O for t < s/6, C for s/6 ≤ t < s/3, M after (the paper's TI-G).
    case gradual
    /// M → C → O at thirds.
    case inverted
    /// A uniformly random intervention each step (seeded).
    case stochastic
    /// One intervention throughout.
    case map, context, output

    /// The intervention at 0-based step `t` of `steps`; `random` draws a uniform value in [0, 1) (stochastic only).
    public func intervention(step t: Int, of steps: Int, random: () -> Double = { Double.random(in: 0..<1) }) -> TeacherIntervention {
        switch self {
        case .gradual:
            if 6 * t < steps { return .output }
            if 3 * t < steps { return .context }
            return .map
        case .inverted:
            if 3 * t < steps { return .map }
            if 3 * t < 2 * steps { return .context }
            return .output
        case .stochastic:
            return [TeacherIntervention.output, .context, .map][min(2, Int(random() * 3))]
        case .map: return .map
        case .context: return .context
        case .output: return .output
        }
    }
}
