extension Chart {
    /// The chart drawn at `scale`× the SVG layout and encoded as PNG (for the Markdown report).
    public func png(width: Double = 720, scale: Int = 2) -> [UInt8] {
        let L = ChartLayout(chart: self, width: width)
        let height = L.height
        let k = Double(scale)
        var c = Canvas(width: Int(width * k), height: Int(height * k))
        let ink = RGB(hex: "#333333"), grey = RGB(hex: "#555555"), grid = RGB(hex: "#e3e3e3")
        let ticks = yTicks()
        c.text(title, x: L.left * k, y: 8 * k, scale: scale + 1, ink)
        for t in ticks {
            let y = L.y(t, ticks) * k
            c.line(L.left * k, y, (L.width - L.right) * k, y, grid)
            let label = tickText(t, unit: unit)
            c.text(label, x: (L.left - 6) * k - Canvas.textWidth(label, scale: scale), y: y - 3.5 * k, scale: scale, grey)
        }
        c.text(yLabel, x: 6 * k, y: (L.top + L.plotHeight / 2) * k + Canvas.textWidth(yLabel, scale: scale) / 2, scale: scale, grey, vertical: true)
        let n = max(labels.count, 1)
        let slot = L.plotWidth / Double(n)
        let rotated = L.rotated
        switch kind {
        case .bar:
            let barWidth = slot * 0.8 / Double(series.count)
            let zero = L.y(max(ticks.first!, 0), ticks)
            for (s, ser) in series.enumerated() {
                for (i, v) in ser.values.enumerated() where v.isFinite {
                    let x = L.left + slot * Double(i) + slot * 0.1 + barWidth * Double(s), y = L.y(v, ticks)
                    c.fill(x: x * k, y: min(y, zero) * k, width: max(barWidth - 1, 1) * k, height: abs(zero - y) * k, RGB(hex: chartColors[s % 4]))
                    if labels.count <= 6 {
                        let text = tickText(v, unit: unit)
                        c.text(text, x: (x + barWidth / 2) * k - Canvas.textWidth(text, scale: scale) / 2, y: (min(y, zero) - 12) * k, scale: scale, ink)
                    }
                }
            }
        case .line:
            for (s, ser) in series.enumerated() {
                let points = ser.values.enumerated().filter { $0.element.isFinite }
                    .map { ((L.left + slot * (Double($0.offset) + 0.5)) * k, L.y($0.element, ticks) * k) }
                for (a, b) in zip(points, points.dropFirst()) { c.line(a.0, a.1, b.0, b.1, RGB(hex: chartColors[s % 4]), thickness: 2 * scale) }
                if points.count == 1 { c.fill(x: points[0].0 - k * 2, y: points[0].1 - k * 2, width: 4 * k, height: 4 * k, RGB(hex: chartColors[s % 4])) }
            }
        }
        c.line(L.left * k, (L.top + L.plotHeight) * k, (L.width - L.right) * k, (L.top + L.plotHeight) * k, RGB(hex: "#888888"))
        for i in stride(from: 0, to: labels.count, by: rotated ? L.labelStep(n) : 1) {
            let x = (L.left + slot * (Double(i) + 0.5)) * k, y = (L.top + L.plotHeight + 6) * k
            if rotated {
                // Reads bottom to top, its end at the axis.
                let label = shortLabel(labels[i])
                c.text(label, x: x - 3.5 * k, y: y + Canvas.textWidth(label, scale: scale), scale: scale, grey, vertical: true)
            } else {
                let label = shortLabel(labels[i])
                c.text(label, x: x - Canvas.textWidth(label, scale: scale) / 2, y: y + 2 * k, scale: scale, grey)
            }
        }
        if !xLabel.isEmpty {
            c.text(xLabel, x: (L.left + L.plotWidth / 2) * k - Canvas.textWidth(xLabel, scale: scale) / 2, y: (height - 14) * k, scale: scale, grey)
        }
        if series.count > 1 {
            var x = L.width - L.right - 110 * Double(series.count)
            for (s, ser) in series.enumerated() {
                c.fill(x: x * k, y: 10 * k, width: 12 * k, height: 12 * k, RGB(hex: chartColors[s % 4]))
                c.text(ser.name, x: (x + 16) * k, y: 12.5 * k, scale: scale, ink)
                x += 110
            }
        }
        return encodePNG(width: c.width, height: c.height, rgb: c.pixels)
    }
}
