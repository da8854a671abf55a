import Foundation

/// Two colours that stay distinct for colour-blind readers and in greyscale (original, compressed).
let chartColors = ["#4C72B0", "#DD8452", "#55A868", "#C44E52"]

/// Layout shared by the SVG and PNG renderers, in pixels. The plot area has a fixed height; the left
/// margin fits the widest tick label and the bottom margin the x labels, which turn vertical when they
/// do not fit side by side.
struct ChartLayout {
    let width: Double, height: Double
    let left: Double, right = 16.0, top = 40.0, bottom: Double
    let plotHeight: Double
    let rotated: Bool
    /// Characters are about 6.5 px wide at 12 px (and exactly 6 in the 5×7 font).
    static let charWidth = 6.5

    init(chart: Chart, width: Double = 720, plotHeight: Double = 220) {
        self.width = width; self.plotHeight = plotHeight
        let ticks = chart.yTicks()
        let tickChars = ticks.map { tickText($0, unit: chart.unit).count }.max() ?? 1
        left = 28 + Double(tickChars) * Self.charWidth + 8
        let slot = (width - left - right) / Double(max(chart.labels.count, 1))
        let longest = chart.labels.map { shortLabel($0).count }.max() ?? 0
        rotated = Double(longest) * Self.charWidth + 6 > slot
        let xLabelSpace = chart.xLabel.isEmpty ? 0.0 : 18
        bottom = (rotated ? 16 + Double(longest) * 6.0 : 24) + xLabelSpace + 6
        height = top + plotHeight + bottom
    }
    var plotWidth: Double { width - left - right }
    func y(_ v: Double, _ ticks: [Double]) -> Double {
        let lo = ticks.first!, hi = ticks.last!
        return top + plotHeight * (1 - (v - lo) / (hi - lo == 0 ? 1 : hi - lo))
    }
    /// Every k-th label is printed so that labels do not overlap.
    func labelStep(_ n: Int) -> Int { max(1, Int(ceil(Double(n) * 14 / plotWidth))) }
}

func xmlEscape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

extension Chart {
    /// An inline SVG (no external resources) with title, axes, ticks, legend and a tooltip per point.
    public func svg(width: Double = 720) -> String {
        let L = ChartLayout(chart: self, width: width)
        let height = L.height
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
        let rotated = L.rotated
        let step = rotated ? L.labelStep(n) : 1
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
                s += "<text transform='translate(\(f(x + 4)) \(f(y - 8))) rotate(-90)' text-anchor='end' fill='#555' font-size='11'>\(xmlEscape(shortLabel(labels[i])))<title>\(xmlEscape(labels[i]))</title></text>"
            } else {
                s += "<text x='\(f(x))' y='\(f(y))' text-anchor='middle' fill='#555'>\(xmlEscape(shortLabel(labels[i])))</text>"
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
