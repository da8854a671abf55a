import Foundation
import Whittle

/// Log lines and progress. Log lines go to stdout, flushed. Progress goes to stderr: on a terminal a
/// bar with ETA redrawn in place; off one (CI, Slurm, `nohup … > log`) a flushed line when a stage
/// starts, every `interval` seconds while it runs (a timer, so a slow unit still shows the stage is
/// alive) and when it ends — stage, done/total, rate, ETA (`progressLine`). `--quiet` silences both.
final class Console: @unchecked Sendable {
    let quiet: Bool
    let isTerminal: Bool
    /// Seconds between progress lines off a terminal: `WHITTLE_PROGRESS_SECONDS`, default 30.
    let interval: Double
    private let lock = NSLock()
    private var label = ""
    private var total = 0
    private var done = 0
    private var started: UInt64 = 0
    private var lastDraw: UInt64 = 0
    private var drawn = false
    private var timer: DispatchSourceTimer?

    init(quiet: Bool, isTerminal: Bool = isatty(STDERR_FILENO) != 0,
         interval: Double = ProcessInfo.processInfo.environment["WHITTLE_PROGRESS_SECONDS"].flatMap(Double.init) ?? 30) {
        self.quiet = quiet
        self.isTerminal = isTerminal
        self.interval = max(interval, 0.05)
    }

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
                guard !quiet else { return }
                lock.lock(); defer { lock.unlock() }
                stopTimer()
                self.label = label; self.total = max(total, 1); done = 0
                started = now(); lastDraw = 0; drawn = false
                if !isTerminal {
                    writeLine(progressLine(label: label, done: 0, total: self.total, elapsedSeconds: 0))
                    startTimer()
                }
            },
            update: { [self] done in
                guard !quiet else { return }
                lock.lock(); defer { lock.unlock() }
                self.done = done
                if isTerminal { drawBar() }
            },
            finish: { [self] in
                guard !quiet else { return }
                lock.lock(); defer { lock.unlock() }
                guard started != 0 else { return }
                stopTimer()
                done = total
                if isTerminal {
                    if drawn { drawBar(); FileHandle.standardError.write(Data("\n".utf8)); drawn = false }
                } else {
                    writeLine(progressLine(label: label, done: done, total: total, elapsedSeconds: elapsed))
                }
                started = 0
            })
    }

    private func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    private var elapsed: Double { Double(now() - started) / 1e9 }

    /// stderr is unbuffered: the line reaches the log file at once.
    private func writeLine(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    private func startTimer() {
        let timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            lock.lock(); defer { lock.unlock() }
            guard started != 0 else { return }
            writeLine(progressLine(label: label, done: done, total: total, elapsedSeconds: elapsed))
        }
        timer.resume()
        self.timer = timer
    }

    private func stopTimer() { timer?.cancel(); timer = nil }

    private func drawBar() {
        guard elapsed > 1, now() - lastDraw > 100_000_000 || done == total else { return }
        lastDraw = now()
        let width = 30
        let filled = Int(Double(done) / Double(total) * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = progressLine(label: label, done: done, total: total, elapsedSeconds: elapsed)
        FileHandle.standardError.write(Data("\r\u{1B}[K\(bar) \(line)".utf8))
        drawn = true
    }

    private func clearBar() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)); drawn = false }
    }
}
