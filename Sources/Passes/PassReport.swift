/// What a pass returns: a summary, numbers, per-tensor changes and chartable series.
/// The report writer (Reports) renders it; the pipeline adds time and memory.
public struct PassReport: Codable, Sendable, Equatable {
    public struct TensorChange: Codable, Sendable, Equatable {
        public var name: String
        public var before: String          // e.g. "F32 [64, 172]"
        public var after: String           // e.g. "NF4 block 64 (+absmax)"
        public var bitsPerWeight: Double?
        public var sparsity: Double?
        /// Relative reconstruction error ‖W − Ŵ‖ / ‖W‖ where it applies.
        public var relativeError: Double?
        public init(name: String, before: String, after: String, bitsPerWeight: Double? = nil,
                    sparsity: Double? = nil, relativeError: Double? = nil) {
            self.name = name; self.before = before; self.after = after
            self.bitsPerWeight = bitsPerWeight; self.sparsity = sparsity; self.relativeError = relativeError
        }
    }

    /// A named series for a chart (per-layer error, importance, loss curve, removal order…).
    public struct Series: Codable, Sendable, Equatable {
        public var title: String
        public var xLabel: String
        public var yLabel: String
        public var labels: [String]
        public var values: [Double]
        public init(title: String, xLabel: String, yLabel: String, labels: [String], values: [Double]) {
            self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.labels = labels; self.values = values
        }
    }

    public var kind: String
    public var summary: String
    public var metrics: [String: Double]
    public var tensors: [TensorChange]
    public var series: [Series]
    public var notes: [String]
    /// Filled by the pipeline.
    public var seconds: Double?
    public var peakRSSBytes: Int?

    public init(kind: String, summary: String, metrics: [String: Double] = [:], tensors: [TensorChange] = [],
                series: [Series] = [], notes: [String] = []) {
        self.kind = kind; self.summary = summary; self.metrics = metrics; self.tensors = tensors
        self.series = series; self.notes = notes
    }
}
