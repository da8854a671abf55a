import Foundation

/// The explicit list of passes a recipe may name (no discovery by class name).
/// Adding a pass: write the type, then add it here.
public enum PassRegistry {
    public static let passes: [any Pass.Type] = [
        NF4Quantization.self,
        Int8Quantization.self,
        FineTuning.self,
        FinerCutPruning.self,
        OptinPruning.self,
        ClippedSoftmax.self,
        GatedAttention.self,
        QuantizationAwareTraining.self,
        DistillStepByStep.self,
    ]

    public static var kinds: [String] { passes.map { $0.kind }.sorted() }

    public static func type(of kind: String) -> (any Pass.Type)? { passes.first { $0.kind == kind } }
}
