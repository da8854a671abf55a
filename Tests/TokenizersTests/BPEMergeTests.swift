import Foundation
import XCTest
import TestSupport
@testable import Tokenizers

final class BPEMergeTests: XCTestCase {
    /// The heap merge (long words) must give exactly the naive scan's result.
    func testHeapAndRankArrayMergesMatchNaiveScan() throws {
        let tok = try Tokenizer(jsonFile: Fixtures.path("tokenizers/llama3-bpe.tokenizer.json"))
        let model = try XCTUnwrap(tok.model as? BPEModel)
        let lines = ReferenceFixture.corpus.filter { $0.unicodeScalars.count > 40 }.prefix(200)
        XCTAssertGreaterThan(lines.count, 100)
        for line in lines {
            let symbols = ByteLevelAlphabet.encode(Array(line.unicodeScalars)).map { Int32(model.tokenToId(String($0))!) }
            var scan = symbols, heap = symbols, ranked = symbols
            model.mergeByScan(&scan)
            model.mergeByHeap(&heap)
            model.mergeByRankArray(&ranked)
            XCTAssertEqual(heap, scan, line)
            XCTAssertEqual(ranked, scan, line)
            XCTAssertLessThan(scan.count, symbols.count, "merges must apply to \(line)")
        }
    }
}
