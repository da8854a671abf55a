import Foundation
import XCTest
import TestSupport
@testable import Tokenizers

/// Reference ids written by tools/reference/tokenizers_reference.py with the `tokenizers` library.
struct ReferenceFixture {
    let lines: [String]
    let lineIndices: [Int]
    let ids: [[Int]]
    let idsNoSpecial: [[Int]]
    let decoded: [String?]
    let keptPositions: [Int]
    let decodedKeepingSpecial: [String]
    let pairFirst: [Int]
    let pairIds: [[Int]]
    let pairTypeIds: [[Int]]
    let batch: [String: Any]

    /// Strings at json[outer][inner], read with JSONDecoder (keeps a leading U+FEFF).
    static func strings(_ name: String, _ outer: String, _ inner: String) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("tokenizers/\(name).ids.json")))
        let top = try JSONDecoder().decode([String: AnyDecodable].self, from: data)
        return top[outer]?.object?[inner]?.strings ?? []
    }

    /// JSONDecoder, not JSONSerialization: the latter drops a leading U+FEFF inside strings on Linux.
    static let corpus: [String] = {
        struct Corpus: Decodable { let lines: [String] }
        let data = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("tokenizers/corpus.json")))
        return try! JSONDecoder().decode(Corpus.self, from: data).lines
    }()

    init(_ name: String) throws {
        let json = try Fixtures.readJSON(Fixtures.path("tokenizers/\(name).ids.json")) as! [String: Any]
        lines = ReferenceFixture.corpus
        lineIndices = json["line_indices"] as! [Int]
        ids = json["ids"] as! [[Int]]
        idsNoSpecial = json["ids_no_special_first_300"] as! [[Int]]
        decoded = (json["decoded"] as! [Any]).map { $0 as? String }
        let kept = json["decoded_keeping_special"] as! [String: Any]
        keptPositions = kept["positions"] as! [Int]
        decodedKeepingSpecial = try ReferenceFixture.strings(name, "decoded_keeping_special", "text")
        let pairs = json["pairs"] as! [String: Any]
        pairFirst = pairs["first"] as! [Int]
        pairIds = pairs["ids"] as! [[Int]]
        pairTypeIds = pairs["type_ids"] as! [[Int]]
        batch = json["padded_batch"] as! [String: Any]
    }

    /// Every line's ids, the decoded text, ids without special tokens, pairs with type ids, and a
    /// truncated + padded batch must equal the library's.
    func check(_ tok: Tokenizer, decode: Bool = true, file: StaticString = #filePath, line: UInt = #line) {
        var failures: [String] = []
        for (k, i) in lineIndices.enumerated() {
            let got = tok.encode(lines[i])
            if got != ids[k] { failures.append("line \(i) \(lines[i].debugDescription): ids \(got) != \(ids[k])") }
            if decode {
                let text = tok.decode(ids[k])
                let want = decoded[k] ?? lines[i]
                if text != want { failures.append("line \(i): decode \(text.debugDescription) != \(want.debugDescription)") }
            }
        }
        XCTAssertEqual(keptPositions.count, decodedKeepingSpecial.count, file: file, line: line)
        for (k, pos) in zip(keptPositions, decodedKeepingSpecial) {
            let text = tok.decode(ids[k], skipSpecialTokens: false)
            if text != pos { failures.append("line \(lineIndices[k]): decode keeping special \(text.debugDescription) != \(pos.debugDescription)") }
        }
        for (k, i) in lineIndices.prefix(idsNoSpecial.count).enumerated() {
            let got = tok.encode(lines[i], addSpecialTokens: false)
            if got != idsNoSpecial[k] { failures.append("line \(i) no-special: \(got) != \(idsNoSpecial[k])") }
        }
        for (k, i) in pairFirst.enumerated() {
            let e = tok.encodePair(lines[i], lines[i + 1])
            if e.ids != pairIds[k] || e.typeIds != pairTypeIds[k] {
                failures.append("pair \(i): \(e.ids)/\(e.typeIds) != \(pairIds[k])/\(pairTypeIds[k])")
            }
        }
        // Truncation to 12 and batch-longest padding, as the script configured the library.
        let saved = (tok.truncation, tok.padding)
        tok.truncation = Truncation(maxLength: batch["max_length"] as! Int)
        tok.padding = Padding(padId: batch["pad_id"] as! Int)
        let pairsOf = (batch["pairs_of"] as! [[Int]]).map { (lines[$0[0]], lines[$0[1]]) }
        let got = tok.encodeBatch(pairs: pairsOf, threads: 2)
        if got.map(\.ids) != batch["ids"] as! [[Int]] { failures.append("padded pair batch ids \(got.map(\.ids))") }
        if got.map(\.typeIds) != batch["type_ids"] as! [[Int]] { failures.append("padded pair batch type ids") }
        if got.map(\.attentionMask) != batch["attention_mask"] as! [[Int]] { failures.append("padded pair batch attention mask") }
        let single = tok.encodeBatch(pairsOf.map(\.0))
        if single.map(\.ids) != batch["single_ids"] as! [[Int]] { failures.append("padded single batch ids \(single.map(\.ids))") }
        if single.map(\.attentionMask) != batch["single_attention_mask"] as! [[Int]] { failures.append("padded single batch mask") }
        (tok.truncation, tok.padding) = saved

        if !failures.isEmpty {
            XCTFail("\(failures.count) mismatches; first: \n" + failures.prefix(8).joined(separator: "\n"), file: file, line: line)
        }
    }
}

/// Just enough of a JSON tree to pull string arrays out with JSONDecoder.
struct AnyDecodable: Decodable {
    var object: [String: AnyDecodable]?
    var strings: [String]?
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let o = try? c.decode([String: AnyDecodable].self) { object = o }
        else if let s = try? c.decode([String].self) { strings = s }
    }
}
