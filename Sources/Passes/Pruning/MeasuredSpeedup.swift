import Foundation
import Models

/// Wall-clock ratio original/pruned of one forward of `input` (best of `repeats`), for the pass
/// report. The pruned model is loaded from the edited checkpoint, so it runs what a user would load.
func measuredSpeedup(original: TransformerModel, pruned: TransformerModel, input: ModelInput, repeats: Int = 3) throws -> Double {
    func best(_ m: TransformerModel) throws -> Double {
        var t = Double.infinity
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try m.forward(input)
            t = min(t, Double(DispatchTime.now().uptimeNanoseconds - t0))
        }
        return t
    }
    let (a, b) = (try best(original), try best(pruned))
    return b > 0 ? a / b : 1
}
