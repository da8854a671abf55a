import Foundation

/// Writes `report.json`, `report.md` (+ `charts/*.png`) and `report.html` into a folder.
public enum ReportWriter {
    @discardableResult
    public static func write(_ report: Report, to folder: String) throws -> [String] {
        let fm = FileManager.default
        let charts = (folder as NSString).appendingPathComponent("charts")
        do { try fm.createDirectory(atPath: charts, withIntermediateDirectories: true) } catch {
            throw ReportError.writeFailed(path: charts, reason: error.localizedDescription)
        }
        var written: [String] = []
        func put(_ name: String, _ data: Data) throws {
            let path = (folder as NSString).appendingPathComponent(name)
            do { try data.write(to: URL(fileURLWithPath: path)) } catch {
                throw ReportError.writeFailed(path: path, reason: error.localizedDescription)
            }
            written.append(path)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try put("report.json", try encoder.encode(report))
        try put("report.md", Data(report.markdown().utf8))
        try put("report.html", Data(report.html().utf8))
        for chart in report.charts() { try put("charts/\(chart.id).png", Data(chart.png())) }
        return written
    }
}
