import Foundation

/// Human-readable numbers for tables: bytes in KB/MB/GB, counts with thousands separators, percents,
/// and other values with 4 significant digits.
public func formatValue(_ v: Double?, unit: String) -> String {
    guard let v else { return "—" }
    switch unit {
    case "bytes": return formatByteCount(v)
    case "count": return formatCount(v)
    case "percent": return String(format: "%.2f%%", v * 100)
    default: return formatNumber(v)
    }
}

func formatByteCount(_ v: Double) -> String {
    let a = abs(v)
    if a >= 1e9 { return String(format: "%.2f GB", v / 1e9) }
    if a >= 1e6 { return String(format: "%.2f MB", v / 1e6) }
    if a >= 1e3 { return String(format: "%.1f KB", v / 1e3) }
    return String(format: "%.0f B", v)
}

func formatCount(_ v: Double) -> String {
    let n = Int(v.rounded()), s = String(abs(n))
    var out = ""
    for (i, c) in s.enumerated() { if i > 0 && (s.count - i) % 3 == 0 { out += "," }; out.append(c) }
    return (n < 0 ? "-" : "") + out
}

func formatNumber(_ v: Double) -> String {
    if v == 0 { return "0" }
    if !v.isFinite { return "\(v)" }
    let a = abs(v)
    if v == v.rounded() && a < 1e6 { return formatCount(v) }
    if a >= 1e6 || a < 1e-3 { return String(format: "%.3e", v) }
    let decimals = max(0, 3 - Int(floor(log10(a))))
    return String(format: "%.\(decimals)f", v)
}

/// Delta with an explicit sign, in the row's unit ("percent" deltas print as percentage points).
public func formatDelta(_ d: Double?, unit: String) -> String {
    guard let d else { return "—" }
    let sign = d > 0 ? "+" : (d < 0 ? "−" : "±")
    if unit == "percent" { return sign + String(format: "%.2f pp", abs(d) * 100) }
    return sign + formatValue(abs(d), unit: unit)
}

public func formatRelative(_ r: Double?) -> String {
    guard let r else { return "—" }
    let sign = r > 0 ? "+" : (r < 0 ? "−" : "±")
    return sign + String(format: "%.2f%%", abs(r) * 100)
}

func formatSeconds(_ s: Double) -> String {
    s < 1 ? String(format: "%.0f ms", s * 1000) : (s < 120 ? String(format: "%.1f s", s) : String(format: "%.1f min", s / 60))
}
