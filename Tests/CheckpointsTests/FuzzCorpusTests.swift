import XCTest
import Checkpoints
import TestSupport

/// Replays the libFuzzer corpus (Fuzz/corpus: inputs `make fuzz` kept for new coverage, minimised
/// with -merge=1) and any crashers it found (Fuzz/crashers) through the header parser with the
/// harness's oracle: parse into entries tiling the data region, or throw a CheckpointError.
final class FuzzCorpusTests: XCTestCase {
    func inputs(_ folder: String) -> [String] {
        let path = Fixtures.repoRoot + "/Fuzz/" + folder
        return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(".") }.map { path + "/" + $0 }
    }

    func testFuzzCorpusAndCrashersParseOrThrowCheckpointErrors() throws {
        let files = inputs("corpus") + inputs("crashers")
        XCTAssertGreaterThan(files.count, 100, "Fuzz/corpus missing")
        var parsed = 0, rejected = 0
        for file in files {
            let bytes = fileBytes(file)
            do {
                let header = try bytes.withUnsafeBytes { try SafetensorsHeader.parse($0, path: file) }
                var cursor = 0
                for info in header.infos {
                    XCTAssertEqual(info.dataRange.lowerBound, cursor, file)
                    XCTAssertEqual(info.byteCount, info.elementCount * info.dtype.byteSize, file)
                    cursor = info.dataRange.upperBound
                }
                XCTAssertEqual(header.dataStart + cursor, bytes.count, file)
                parsed += 1
            } catch let error as CheckpointError {
                XCTAssertFalse(error.description.contains("\n"), file)
                rejected += 1
            }
        }
        XCTAssertGreaterThan(parsed, 0)    // the corpus reaches the accepting path …
        XCTAssertGreaterThan(rejected, 0)  // … and the rejecting ones
    }
}
