import Foundation
import Passes

extension Report {
    /// `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external resources).
    public func html() -> String {
        let charts = self.charts()
        var h = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(xmlEscape(title))</title>
        <style>
        body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:960px;margin:2rem auto;padding:0 1rem}
        h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
        .lead{color:#555;margin-top:0} table{border-collapse:collapse;width:100%;margin:.6rem 0;font-variant-numeric:tabular-nums}
        th,td{padding:.3rem .6rem;border-bottom:1px solid #eee;text-align:left} th{background:#f6f6f6;font-weight:600}
        td.n,th.n{text-align:right;white-space:nowrap} .better{color:#1a7f37;font-weight:600} .worse{color:#c62828;font-weight:600}
        .muted{color:#777} figure{margin:1rem 0} figure svg{width:100%;height:auto;border:1px solid #eee;border-radius:4px}
        .facts{display:flex;flex-wrap:wrap;gap:.5rem 1.2rem;color:#444;margin:.4rem 0} .facts b{color:#222}
        blockquote{margin:.6rem 0;padding:.3rem .8rem;border-left:3px solid #ddd;color:#555}
        dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem} dt{color:#666} dd{margin:0}
        code,pre{font:13px ui-monospace,Menlo,Consolas,monospace} pre{background:#f6f6f6;padding:.6rem;overflow:auto;border-radius:4px}
        details summary{cursor:pointer;color:#444}
        </style></head><body>
        <h1>\(xmlEscape(title))</h1>

        """
        if let size {
            h += "<p class=\"lead\">Size \(formatByteCount(Double(size.originalBytes))) → \(formatByteCount(Double(size.compressedBytes))) "
            h += "(<b>\(String(format: "%.2f", size.ratio))× smaller</b>)"
            if let acc = comparisons.first { h += "; \(xmlEscape(acc.name)) \(formatValue(acc.original, unit: acc.unit)) → \(formatValue(acc.compressed, unit: acc.unit))" }
            h += ".</p>\n"
        }
        h += "<h2>Before and after</h2>\n<table><thead><tr><th>metric</th><th class=\"n\">original</th><th class=\"n\">compressed</th><th class=\"n\">delta</th><th class=\"n\">relative</th></tr></thead><tbody>\n"
        for c in allComparisons {
            let cls = c.improved.map { $0 ? "better" : "worse" } ?? "muted"
            let arrow = c.higherIsBetter ? "higher is better" : "lower is better"
            h += "<tr><td>\(xmlEscape(c.name))\(c.count.map { " <span class=\"muted\">(n = \(formatCount(Double($0))))</span>" } ?? "")</td>"
            h += "<td class=\"n\">\(formatValue(c.original, unit: c.unit))</td><td class=\"n\">\(formatValue(c.compressed, unit: c.unit))</td>"
            h += "<td class=\"n \(cls)\" title=\"\(arrow)\">\(formatDelta(c.delta, unit: c.unit))</td><td class=\"n \(cls)\" title=\"\(arrow)\">\(formatRelative(c.relativeChange))</td></tr>\n"
        }
        h += "</tbody></table>\n<p class=\"muted\">Green: better, red: worse, in the metric's own direction.</p>\n"
        if let rows = stageRows, let stages, stages.count > 1 {
            h += "<h3>After each pass</h3>\n<table><thead><tr><th>metric</th><th class=\"n\">original</th>"
            for (i, s) in stages.enumerated() { h += "<th class=\"n\">after \(i + 1). \(xmlEscape(s.pass))</th>" }
            h += "</tr></thead><tbody>\n"
            for r in rows {
                h += "<tr><td>\(xmlEscape(r.name))</td>" + r.values.map { "<td class=\"n\">\(formatValue($0, unit: r.unit))</td>" }.joined() + "</tr>\n"
            }
            h += "</tbody></table>\n"
        }
        if let chart = charts.first(where: { $0.id == "size" }) { h += "<figure>\(chart.svg())</figure>\n" }
        for (p, pass) in passes.enumerated() {
            h += "<h2>Pass \(p + 1): \(xmlEscape(pass.kind))</h2>\n<p>\(xmlEscape(pass.summary))</p>\n<div class=\"facts\">"
            if let s = pass.seconds { h += "<span>time <b>\(formatSeconds(s))</b></span>" }
            if let m = pass.peakRSSBytes { h += "<span>peak memory <b>\(formatByteCount(Double(m)))</b></span>" }
            for (k, v) in pass.metrics.sorted(by: { $0.key < $1.key }) { h += "<span>\(xmlEscape(k)) <b>\(formatNumber(v))</b></span>" }
            h += "</div>\n"
            if !pass.tensors.isEmpty {
                let table = tensorTable(pass.tensors)
                h += pass.tensors.count > 12 ? "<details><summary>\(pass.tensors.count) tensors changed</summary>\(table)</details>\n" : table
            }
            for chart in charts where chart.id.hasPrefix("pass\(p + 1)-") { h += "<figure>\(chart.svg())</figure>\n" }
            for table in pass.tables ?? [] {
                h += "<h3>\(xmlEscape(table.title))</h3>\n<table><thead><tr>" + table.header.map { "<th>\(xmlEscape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
                for row in table.rows { h += "<tr>" + row.map { "<td>\(xmlEscape($0))</td>" }.joined() + "</tr>\n" }
                h += "</tbody></table>\n"
            }
            for note in pass.notes { h += "<blockquote>\(xmlEscape(note))</blockquote>\n" }
        }
        if let chart = charts.first(where: { $0.id == "kurtosis" }), let before = outliersBefore {
            h += "<h2>Outliers</h2>\n<div class=\"facts\"><span>mean kurtosis <b>\(formatNumber(before.meanKurtosis))</b></span>"
            h += "<span>max kurtosis <b>\(formatNumber(before.maxKurtosis))</b></span><span>max ‖x‖<sub>∞</sub> <b>\(formatNumber(before.maxInfinityNorm))</b></span>"
            if let after = outliersAfter {
                h += "<span>after: mean <b>\(formatNumber(after.meanKurtosis))</b>, max <b>\(formatNumber(after.maxKurtosis))</b>, max ‖x‖<sub>∞</sub> <b>\(formatNumber(after.maxInfinityNorm))</b></span>"
            }
            h += "</div>\n<figure>\(chart.svg())</figure>\n"
        }
        let m = provenance.machine
        h += "<h2>Provenance</h2>\n<dl><dt>model</dt><dd><code>\(xmlEscape(provenance.model))</code></dd>"
        h += "<dt>input fingerprint</dt><dd><code>\(provenance.inputFingerprint)</code></dd>"
        h += "<dt>versions</dt><dd>\(xmlEscape(provenance.versions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))</dd>"
        h += "<dt>machine</dt><dd>\(xmlEscape(m.cpu)), \(m.cores) cores, \(formatByteCount(Double(m.memoryBytes))) RAM, \(xmlEscape(m.os))</dd>"
        h += "<dt>created</dt><dd>\(provenance.created)</dd></dl>\n"
        if !provenance.recipe.isEmpty { h += "<details><summary>recipe</summary><pre>\(xmlEscape(provenance.recipe))</pre></details>\n" }
        h += "<p class=\"muted\">report schema \(schemaVersion) · Whittle</p>\n</body></html>\n"
        return h
    }

    private func tensorTable(_ tensors: [PassReport.TensorChange]) -> String {
        var t = "<table><thead><tr><th>tensor</th><th>before</th><th>after</th><th class=\"n\">bits/weight</th><th class=\"n\">sparsity</th><th class=\"n\">rel. error</th></tr></thead><tbody>"
        for x in tensors {
            t += "<tr><td><code>\(xmlEscape(x.name))</code></td><td>\(xmlEscape(x.before))</td><td>\(xmlEscape(x.after))</td>"
            t += "<td class=\"n\">\(x.bitsPerWeight.map { String(format: "%.2f", $0) } ?? "—")</td>"
            t += "<td class=\"n\">\(x.sparsity.map { String(format: "%.1f%%", $0 * 100) } ?? "—")</td>"
            t += "<td class=\"n\">\(x.relativeError.map(formatNumber) ?? "—")</td></tr>"
        }
        return t + "</tbody></table>\n"
    }
}
