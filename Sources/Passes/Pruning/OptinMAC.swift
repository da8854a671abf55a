/// OPTIN's MAC cost model (ALGORITHMS.md §1.3, `utils/mac_complexity.py`) at the task's average
/// sequence length `s`. Embeddings and the classifier are not counted.
public struct OptinMACModel: Sendable, Equatable {
    public var hidden: Double
    public var headDim: Double
    public var seqLen: Double

    public init(hidden: Int, headDim: Int, seqLen: Double) {
        self.hidden = Double(hidden); self.headDim = Double(headDim); self.seqLen = seqLen
    }

    /// QKV projection + QKᵀ and PV + output projection of one head.
    public var macHead: Double {
        3 * seqLen * hidden * headDim + 2 * seqLen * seqLen * headDim + seqLen * headDim * hidden
    }
    /// One row of W1 and one column of W2.
    public var macNeuron: Double { 2 * seqLen * hidden }

    /// MACs of `heads` heads and `neurons` FFN neurons (summed over layers).
    public func macs(heads: Int, neurons: Int) -> Double {
        Double(heads) * macHead + Double(neurons) * macNeuron
    }

    /// `base_mac = L·(H·mac_head + N·mac_neuron)`.
    public func baseMAC(layers: Int, heads: Int, neurons: Int) -> Double {
        Double(layers) * (Double(heads) * macHead + Double(neurons) * macNeuron)
    }
}

/// A prunable unit: head or FFN neuron `index` of block `layer`.
public struct PrunableUnit: Hashable, Sendable, Codable {
    public enum Kind: String, Sendable, Codable { case head, neuron }
    public var kind: Kind
    public var layer: Int
    public var index: Int
    public init(_ kind: Kind, layer: Int, index: Int) { self.kind = kind; self.layer = layer; self.index = index }
}

/// The result of OPTIN's global selection: how many of the ranked heads / neurons are kept.
public struct OptinSelection: Sendable, Equatable {
    public var keptHeads: Int
    public var keptNeurons: Int
    public var importance: Double
}

/// `globalRankingLanguage` (ALGORITHMS.md §1.3): with heads and neurons each sorted by importance
/// (most important first), try every head count k = 1…|heads|, fill the remaining capacity with the
/// most important neurons, and keep the k with the largest total importance. With
/// `allowOverBudget` (the reference's behaviour) head counts whose MACs alone exceed the capacity
/// are tried too (with zero neurons); by default they are skipped, so the result fits the budget.
public func optinGlobalSelection(headImportance: [Double], neuronImportance: [Double], macHead: Double, macNeuron: Double,
                                 capacity: Double, allowOverBudget: Bool = false) -> OptinSelection {
    precondition(zip(headImportance, headImportance.dropFirst()).allSatisfy { $0 >= $1 }, "heads must be sorted, most important first")
    precondition(zip(neuronImportance, neuronImportance.dropFirst()).allSatisfy { $0 >= $1 }, "neurons must be sorted, most important first")
    var best = OptinSelection(keptHeads: 0, keptNeurons: 0, importance: 0)
    var headSum = 0.0
    for k in 1...max(headImportance.count, 1) where k <= headImportance.count {
        headSum += headImportance[k - 1]
        var rem = capacity - Double(k) * macHead
        if rem < 0 && !allowOverBudget { break }
        var imp = headSum, n = 0
        while rem >= macNeuron && n < neuronImportance.count {
            imp += neuronImportance[n]; n += 1; rem -= macNeuron
        }
        if imp > best.importance { best = OptinSelection(keptHeads: k, keptNeurons: n, importance: imp) }
    }
    return best
}
