import Foundation

/// Progress of a long stage (scoring, training, evaluation, writing): `start(label, total)`, then
/// `update(done)` as units complete, then `finish()`. The CLI draws a bar on a terminal and prints
/// flushed lines off one (`Console`); the library default is silent.
public struct ProgressReporter: Sendable {
    public let start: @Sendable (_ label: String, _ total: Int) -> Void
    public let update: @Sendable (_ done: Int) -> Void
    public let finish: @Sendable () -> Void

    public init(start: @escaping @Sendable (String, Int) -> Void,
                update: @escaping @Sendable (Int) -> Void,
                finish: @escaping @Sendable () -> Void) {
        self.start = start
        self.update = update
        self.finish = finish
    }

    public static let silent = ProgressReporter(start: { _, _ in }, update: { _ in }, finish: {})

    /// Runs `body` as one stage of `total` units; `body` reports with the closure it is given.
    public func stage<T>(_ label: String, total: Int, _ body: (_ update: (Int) -> Void) throws -> T) rethrows -> T {
        start(label, total)
        defer { finish() }
        return try body(update)
    }
}

/// One progress line for a log: stage, done/total, percent, elapsed, rate and ETA, e.g.
/// `optin: scores 1,234/9,288 (13%) · 12m05s elapsed · 1.70/s · ETA 1h19m`.
public func progressLine(label: String, done: Int, total: Int, elapsedSeconds: Double) -> String {
    let total = max(total, 1)
    let percent = Int((Double(done) / Double(total) * 100).rounded(.down))
    var parts = ["\(label) \(done)/\(total) (\(percent)%)", "\(formatDuration(elapsedSeconds)) elapsed"]
    if done > 0, elapsedSeconds > 0 {
        let rate = Double(done) / elapsedSeconds
        parts.append(rate >= 10 ? String(format: "%.0f/s", rate) : rate >= 0.1 ? String(format: "%.2f/s", rate)
                                                                             : String(format: "%.1f s each", 1 / rate))
        if done < total { parts.append("ETA " + formatDuration(Double(total - done) / rate)) }
    }
    return parts.joined(separator: " · ")
}

/// `42s`, `5m07s`, `1h19m`.
public func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
}

extension ProgressReporter {
    /// The same reporter with `prefix: ` before every stage label (e.g. which evaluation is running).
    public func prefixed(_ prefix: String) -> ProgressReporter {
        let start = self.start
        return ProgressReporter(start: { label, total in start("\(prefix): \(label)", total) }, update: update, finish: finish)
    }
}
