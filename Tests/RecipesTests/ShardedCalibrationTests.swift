import XCTest
import Checkpoints
import Datasets
import Passes
import Reports
@testable import Recipes
import TestSupport

/// Sharded calibration statistics (issue 18): the static `int8` scheme's calibration windows split
/// over shards, each writing its windows' batch ranges; `compress merge` folds them in window order
/// into the running observers, so the merged checkpoint is the single-process one byte for byte.
final class ShardedCalibrationTests: XCTestCase {
    var scratch: String!

    override func setUpWithError() throws {
        scratch = NSTemporaryDirectory() + "whittle-sharded-calibration-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: scratch) }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Static W8A8 on stories260K, 7 calibration windows (2 held out for evaluation), per observer.
    func recipe(_ observer: ActivationObserverKind) -> Recipe {
        let tokens = Fixtures.path("eval/stories260k_samples.tokens")
        var pass = Int8Quantization(scheme: .static, observer: observer)
        pass.evaluationSamples = 2
        return Recipe(model: Fixtures.path("models/stories260K"), output: scratch + "/sharded-\(observer.rawValue)",
                      calibration: DataSource(data: tokens, samples: 7, seqLen: 32, seed: 0), passes: [pass])
    }

    func testFourCalibrationShardsMergeIntoTheSingleProcessCheckpoint() throws {
        for observer in [ActivationObserverKind.minmax, .percentile] {
            let recipe = recipe(observer)
            let single = try Pipeline(recipe: recipe, options: Pipeline.Options(output: scratch + "/single-\(observer.rawValue)")).run()
            let folders = try (0..<4).map { try Pipeline(recipe: recipe).runShard(WorkSlice(index: $0, count: 4)) }
            let works = try folders.map { try WorkFile.read($0 + "/work.json") }
            XCTAssertEqual(works.map { $0.items["passes[0]"]?.count ?? 0 }, [1, 1, 1, 2], "5 observed windows over 4 slices")
            let merged = try Pipeline.merge(partials: folders.reversed(), options: Pipeline.Options())
            for name in ["model.safetensors", "config.json", "recipe.json"] {
                XCTAssertEqual(try bytes(merged.outputFolder + "/" + name), try bytes(single.outputFolder + "/" + name), "\(observer): \(name)")
            }
            XCTAssertEqual(merged.report.passes[0].metrics, single.report.passes[0].metrics, "\(observer): the probe's measurements")
            XCTAssertEqual(merged.report.passes[0].series.map(\.values), single.report.passes[0].series.map(\.values), "\(observer): calibrated ranges")
        }
    }
}
