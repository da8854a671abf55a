import Foundation
import Whittle

/// Log lines and progress bars. On a terminal, a step that runs longer than a second shows a bar
/// with ETA redrawn in place; otherwise progress is printed as plain lines at 25 % steps.
final class Console: @unchecked Sendable {
    let quiet: Bool
    let isTerminal = isatty(STDOUT_FILENO) != 0
    private let lock = NSLock()
    private var label = ""
    private var total = 0
    private var started: UInt64 = 0
    private var lastDraw: UInt64 = 0
    private var lastQuarter = -1
    private var drawn = false

    init(quiet: Bool) { self.quiet = quiet }

    var log: (String) -> Void {
        { [self] line in
            guard !quiet else { return }
            lock.lock(); defer { lock.unlock() }
            clearBar()
            print(line)
            fflush(stdout)
        }
    }

    var progress: ProgressReporter {
        ProgressReporter(
            start: { [self] label, total in
                lock.lock(); defer { lock.unlock() }
                self.label = label; self.total = max(total, 1)
                started = now(); lastDraw = 0; lastQuarter = -1; drawn = false
            },
            update: { [self] done in
                guard !quiet else { return }
                lock.lock(); defer { lock.unlock() }
                draw(done)
            },
            finish: { [self] in
                lock.lock(); defer { lock.unlock() }
                if drawn { draw(total); print(""); drawn = false }
            })
    }

    private func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    private func draw(_ done: Int) {
        let elapsed = Double(now() - started) / 1e9
        if isTerminal {
            guard elapsed > 1, now() - lastDraw > 100_000_000 || done == total else { return }
            lastDraw = now()
            let fraction = Double(done) / Double(total)
            let width = 30
            let filled = Int(fraction * Double(width))
            let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            print("\r\(label) \(bar) \(done)/\(total) \(Console.duration(elapsed)) elapsed, ETA \(Console.duration(eta))  ", terminator: "")
            fflush(stdout)
            drawn = true
        } else {
            let quarter = done * 4 / total
            guard quarter > lastQuarter, elapsed > 1 || done == total else { return }
            lastQuarter = quarter
            print("\(label): \(done)/\(total) (\(Console.duration(elapsed)))")
        }
    }

    private func clearBar() {
        if drawn { print("\r\u{1B}[K", terminator: ""); drawn = false }
    }

    static func duration(_ s: Double) -> String {
        s < 60 ? String(format: "%.0fs", s) : String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60)
    }
}
