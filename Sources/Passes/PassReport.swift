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

    /// A small table for the report (e.g. accuracy against the fraction of training data).
    public struct Table: Codable, Sendable, Equatable {
        public var title: String
        public var header: [String]
        public var rows: [[String]]
        public init(title: String, header: [String], rows: [[String]]) { self.title = title; self.header = header; self.rows = rows }
    }

    public var kind: String
    public var summary: String
    public var metrics: [String: Double]
    public var tensors: [TensorChange]
    public var series: [Series]
    public var notes: [String]
    /// Tables rendered after the pass's charts (nil or empty: none).
    public var tables: [Table]?
    /// Filled by the pipeline.
    public var seconds: Double?
    public var peakRSSBytes: Int?
    /// What a streaming pass can only fill in once its lazy tensors have been produced (normally by
    /// the writer); `completed()` applies it. Not encoded.
    public var pending: PendingReport? = nil

    enum CodingKeys: String, CodingKey { case kind, summary, metrics, tensors, series, notes, tables, seconds, peakRSSBytes }

    public init(kind: String, summary: String, metrics: [String: Double] = [:], tensors: [TensorChange] = [],
                series: [Series] = [], notes: [String] = [], tables: [Table]? = nil) {
        self.kind = kind; self.summary = summary; self.metrics = metrics; self.tensors = tensors
        self.series = series; self.notes = notes; self.tables = tables
    }

    /// The report with its pending fields filled in; whatever the writer has not produced yet is
    /// produced now. Call it after writing the output (the pipeline does).
    public func completed() throws -> PassReport {
        guard let pending else { return self }
        var done = try pending.complete(self)
        done.pending = nil
        return done
    }
}

/// Work a pass leaves for after the output is written: the `nf4` and `int8` passes measure each
/// weight's reconstruction error while the writer pulls its quantized tensors, instead of
/// quantizing every weight twice. Equal only to itself.
public final class PendingReport: @unchecked Sendable, Equatable {
    let complete: (PassReport) throws -> PassReport
    public init(_ complete: @escaping (PassReport) throws -> PassReport) { self.complete = complete }
    public static func == (a: PendingReport, b: PendingReport) -> Bool { a === b }
}
