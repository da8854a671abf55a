import Foundation

/// Two colours that stay distinct for colour-blind readers and in greyscale (original, compressed).
let chartColors = ["#4C72B0", "#DD8452", "#55A868", "#C44E52"]

/// Layout shared by the SVG and PNG renderers, in pixels.
struct ChartLayout {
    let width: Double, height: Double
    let left = 70.0, right = 16.0, top = 40.0
    let bottom: Double
    init(chart: Chart, width: Double = 720, height: Double = 300) {
        self.width = width; self.height = height
        let longest = chart.labels.map(\.count).max() ?? 0
        bottom = (chart.labels.count > 8 || longest > 12) ? 30 + min(Double(longest), 28) * 5.5 : 48
    }
    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }
    func y(_ v: Double, _ ticks: [Double]) -> Double {
        let lo = ticks.first!, hi = ticks.last!
        return top + plotHeight * (1 - (v - lo) / (hi - lo == 0 ? 1 : hi - lo))
    }
    /// Label indices to print so that labels do not overlap.
    func labelStep(_ n: Int, rotated: Bool) -> Int { max(1, Int(ceil(Double(n) * (rotated ? 12 : 60) / plotWidth))) }
}

func xmlEscape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

extension Chart {
    /// An inline SVG (no external resources) with title, axes, ticks, legend and a tooltip per point.
    public func svg(width: Double = 720, height: Double = 300) -> String {
        let L = ChartLayout(chart: self, width: width, height: height)
        let ticks = yTicks()
        var s = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 \(Int(width)) \(Int(height))' role='img' aria-label='\(xmlEscape(title))' font-family='system-ui, sans-serif' font-size='12'>"
        s += "<text x='\(L.left)' y='20' font-size='14' font-weight='600'>\(xmlEscape(title))</text>"
        for t in ticks {
            let y = L.y(t, ticks)
            s += "<line x1='\(L.left)' x2='\(L.width - L.right)' y1='\(f(y))' y2='\(f(y))' stroke='#e3e3e3'/>"
            s += "<text x='\(L.left - 6)' y='\(f(y + 4))' text-anchor='end' fill='#555'>\(xmlEscape(tickText(t, unit: unit)))</text>"
        }
        s += "<text transform='translate(14 \(f(L.top + L.plotHeight / 2))) rotate(-90)' text-anchor='middle' fill='#555'>\(xmlEscape(yLabel))</text>"
        let n = max(labels.count, 1)
        let slot = L.plotWidth / Double(n)
        let rotated = labels.count > 8 || (labels.map(\.count).max() ?? 0) > 12
        let step = L.labelStep(n, rotated: rotated)
        switch kind {
        case .bar:
            let barWidth = slot * 0.8 / Double(series.count)
            let zero = L.y(max(ticks.first!, 0), ticks)
            for (k, ser) in series.enumerated() {
                for (i, v) in ser.values.enumerated() where v.isFinite {
                    let x = L.left + slot * Double(i) + slot * 0.1 + barWidth * Double(k)
                    let y = L.y(v, ticks)
                    s += "<rect x='\(f(x))' y='\(f(min(y, zero)))' width='\(f(max(barWidth - 1, 1)))' height='\(f(abs(zero - y)))' fill='\(chartColors[k % 4])'><title>\(xmlEscape(labels[i] + " — " + ser.name + ": " + tickText(v, unit: unit)))</title></rect>"
                    if labels.count <= 6 {
                        s += "<text x='\(f(x + barWidth / 2))' y='\(f(min(y, zero) - 4))' text-anchor='middle' fill='#333'>\(xmlEscape(tickText(v, unit: unit)))</text>"
                    }
                }
            }
        case .line:
            for (k, ser) in series.enumerated() {
                let points = ser.values.enumerated().filter { $0.element.isFinite }
                    .map { "\(f(L.left + slot * (Double($0.offset) + 0.5))),\(f(L.y($0.element, ticks)))" }
                s += "<polyline fill='none' stroke='\(chartColors[k % 4])' stroke-width='2' points='\(points.joined(separator: " "))'/>"
            }
        }
        s += "<line x1='\(L.left)' x2='\(L.width - L.right)' y1='\(f(L.top + L.plotHeight))' y2='\(f(L.top + L.plotHeight))' stroke='#888'/>"
        for i in stride(from: 0, to: labels.count, by: step) {
            let x = L.left + slot * (Double(i) + 0.5), y = L.top + L.plotHeight + 14
            if rotated {
                s += "<text transform='translate(\(f(x + 3)) \(f(y - 4))) rotate(45)' fill='#555' font-size='11'>\(xmlEscape(labels[i]))</text>"
            } else {
                s += "<text x='\(f(x))' y='\(f(y))' text-anchor='middle' fill='#555'>\(xmlEscape(labels[i]))</text>"
            }
        }
        if !xLabel.isEmpty {
            s += "<text x='\(f(L.left + L.plotWidth / 2))' y='\(f(height - 4))' text-anchor='middle' fill='#555'>\(xmlEscape(xLabel))</text>"
        }
        if series.count > 1 {
            var x = L.width - L.right - 110 * Double(series.count)
            for (k, ser) in series.enumerated() {
                s += "<rect x='\(f(x))' y='10' width='12' height='12' fill='\(chartColors[k % 4])'/><text x='\(f(x + 16))' y='20'>\(xmlEscape(ser.name))</text>"
                x += 110
            }
        }
        return s + "</svg>"
    }
}

private func f(_ v: Double) -> String { String(format: "%.1f", v) }
