import Datasets
import XCTest

final class DataLoaderTests: XCTestCase {
    func testDataLoaderIsSeededAndCoversEveryItem() {
        let loader = DataLoader(Array(0..<10), batchSize: 3, seed: 7)
        XCTAssertEqual(loader.batchesPerEpoch, 4)
        XCTAssertEqual(loader.batches(epoch: 0).flatMap { $0 }.sorted(), Array(0..<10))
        XCTAssertEqual(loader.batches(epoch: 1).map { $0 }, DataLoader(Array(0..<10), batchSize: 3, seed: 7).batches(epoch: 1))
        XCTAssertNotEqual(loader.order(epoch: 0), loader.order(epoch: 1))
        XCTAssertEqual(loader.batch(step: 5), loader.batches(epoch: 1)[1])
    }
}
