import Foundation
import Passes

/// A chart independent of how it is drawn: bars (one group per label, one bar per series) or lines.
public struct Chart: Equatable, Sendable {
    public enum Kind: String, Sendable { case bar, line }
    public struct Series: Equatable, Sendable {
        public var name: String
        public var values: [Double]
        public init(name: String, values: [Double]) { self.name = name; self.values = values }
    }
    public var id: String
    public var title: String
    public var kind: Kind
    public var xLabel: String
    public var yLabel: String
    public var labels: [String]
    public var series: [Series]
    /// Value formatting for axis ticks and bar labels ("bytes" or "number").
    public var unit: String

    public init(id: String, title: String, kind: Kind, xLabel: String, yLabel: String, labels: [String],
                series: [Series], unit: String = "number") {
        self.id = id; self.title = title; self.kind = kind; self.xLabel = xLabel; self.yLabel = yLabel
        self.labels = labels; self.series = series; self.unit = unit
    }

    /// The y range to draw: from 0 (or the minimum when negative) to a "nice" maximum, with its ticks.
    func yTicks(count: Int = 5) -> [Double] {
        let values = series.flatMap(\.values).filter(\.isFinite)
        var lo = min(0, values.min() ?? 0), hi = max(values.max() ?? 1, lo + 1e-12)
        if kind == .line, let mn = values.min(), mn > 0, (hi - mn) < 0.5 * hi { lo = mn }   // loss curves: zoom in
        let step = niceStep((hi - lo) / Double(count))
        lo = floor(lo / step) * step; hi = ceil(hi / step) * step
        return stride(from: lo, through: hi + step * 1e-9, by: step).map { $0 }
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
func niceStep(_ raw: Double) -> Double {
    guard raw > 0, raw.isFinite else { return 1 }
    let p = pow(10, floor(log10(raw)))
    for m in [1.0, 2, 5, 10] where m * p >= raw * 0.999 { return m * p }
    return 10 * p
}

/// Short tick text (k/M/G for large values; bytes in KB/MB).
func tickText(_ v: Double, unit: String) -> String {
    if unit == "bytes" {   // "500 KB", "1.5 MB": ticks are round numbers
        let parts = formatByteCount(v).split(separator: " ")
        return trimZeros(String(parts[0])) + " " + parts[1]
    }
    let a = abs(v)
    if a >= 1e9 { return trimZeros(String(format: "%.1f", v / 1e9)) + "G" }
    if a >= 1e6 { return trimZeros(String(format: "%.1f", v / 1e6)) + "M" }
    if a >= 1e4 { return trimZeros(String(format: "%.1f", v / 1e3)) + "k" }
    if a == 0 { return "0" }
    if a < 0.01 { return String(format: "%.1e", v).replacingOccurrences(of: ".0e", with: "e") }  // 2.5e-04, 3e-04
    return trimZeros(String(format: a < 1 ? "%.3f" : "%.2f", v))
}

/// A tensor or module name short enough for an axis: common wrappers ("model.", ".weight") dropped,
/// "layers.3." written "L3.", and a long rest cut at a dot boundary from the left ("…mlp.down_proj").
func shortLabel(_ name: String, limit: Int = 24) -> String {
    var s = name
    for prefix in ["model.", "transformer.", "bert.encoder.", "encoder."] where s.hasPrefix(prefix) { s.removeFirst(prefix.count) }
    if s.hasSuffix(".weight") { s.removeLast(7) }
    s = s.replacingOccurrences(of: "layers.", with: "L").replacingOccurrences(of: "layer.", with: "L")
    guard s.count > limit else { return s }
    var parts = s.split(separator: ".").map(String.init)
    while parts.count > 1 && parts.joined(separator: ".").count > limit - 1 { parts.removeFirst() }
    let rest = parts.joined(separator: ".")
    return "…" + (rest.count > limit - 1 ? String(rest.suffix(limit - 1)) : rest)
}

func trimZeros(_ s: String) -> String {
    guard s.contains(".") else { return s }
    var t = s
    while t.hasSuffix("0") { t.removeLast() }
    if t.hasSuffix(".") { t.removeLast() }
    return t
}

extension Report {
    /// The charts of this report, in reading order: size, per-pass series, per-module kurtosis.
    public func charts() -> [Chart] {
        var charts: [Chart] = []
        if let size {
            var labels = ["on disk"], original = [Double(size.originalBytes)], compressed = [Double(size.compressedBytes)]
            if let a = size.originalDeflatedBytes, let b = size.compressedDeflatedBytes {
                labels.append("after zlib deflate"); original.append(Double(a)); compressed.append(Double(b))
            }
            charts.append(Chart(id: "size", title: "Model size before and after", kind: .bar, xLabel: "", yLabel: "bytes",
                                labels: labels, series: [.init(name: "original", values: original), .init(name: "compressed", values: compressed)],
                                unit: "bytes"))
        }
        for (p, pass) in passes.enumerated() {
            // Series sharing a title and labels are drawn in one chart, one bar group (or line) per series.
            var drawn: [String] = []
            for (s, series) in pass.series.enumerated() where !drawn.contains(series.title) {
                drawn.append(series.title)
                let group = pass.series.filter { $0.title == series.title && $0.labels == series.labels }
                let isCurve = series.title.lowercased().contains("loss") || series.xLabel.lowercased().contains("step")
                charts.append(Chart(id: "pass\(p + 1)-\(s + 1)", title: "\(pass.kind): \(series.title)", kind: isCurve ? .line : .bar,
                                    xLabel: series.xLabel, yLabel: group.count > 1 ? "" : series.yLabel, labels: series.labels,
                                    series: group.map { .init(name: $0.yLabel, values: $0.values) }))
            }
        }
        if let before = outliersBefore {
            let names = before.modules.map(\.name)
            var series = [Chart.Series(name: "original", values: before.modules.map(\.kurtosis))]
            if let after = outliersAfter {
                series.append(.init(name: "compressed", values: names.map { n in after.modules.first { $0.name == n }?.kurtosis ?? .nan }))
            }
            charts.append(Chart(id: "kurtosis", title: "Kurtosis of each module's output (Gaussian = 3)", kind: .bar,
                                xLabel: "module", yLabel: "kurtosis", labels: names, series: series))
        }
        return charts
    }
}
