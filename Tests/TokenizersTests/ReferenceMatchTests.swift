import Foundation
import XCTest
import TestSupport
@testable import Tokenizers

/// Every fixture line must encode (and decode) exactly as the Python `tokenizers` library does.
final class ReferenceMatchTests: XCTestCase {
    func trained(_ name: String) throws -> Tokenizer {
        try Tokenizer(jsonFile: Fixtures.path("tokenizers/\(name).tokenizer.json"))
    }

    func testMiniLMWordPieceMatchesTokenizersLibrary() throws {
        let tok = try Tokenizer.load(folder: Fixtures.path("tokenizers/minilm"))
        try ReferenceFixture("minilm").check(tok)
        XCTAssertEqual(tok.vocabularySize, 30522)
        XCTAssertEqual([tok.padTokenId, tok.clsTokenId, tok.sepTokenId, tok.unkTokenId], [0, 101, 102, 100])
    }

    func testBertFromVocabTxtOnlyMatchesTokenizerJSON() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whittle-vocab-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(atPath: Fixtures.path("tokenizers/minilm/vocab.txt"), toPath: dir.path + "/vocab.txt")
        let tok = try Tokenizer.load(folder: dir.path)
        tok.truncation = Truncation(maxLength: 128)   // minilm's tokenizer.json truncates at 128
        try ReferenceFixture("minilm").check(tok)
    }

    func testSmolLM2ByteLevelBPEMatchesTokenizersLibrary() throws {
        guard let path = Fixtures.shared("tokenizers/smollm2-tokenizer.json") else {
            throw XCTSkip("../shared/tokenizers/smollm2-tokenizer.json absent")
        }
        let tok = try Tokenizer(jsonFile: path)
        try ReferenceFixture("smollm2").check(tok)
        XCTAssertEqual(tok.vocabularySize, 49152)
    }

    func testLlama2MetaspaceByteFallbackBPEMatches() throws {
        try ReferenceFixture("llama2-bpe").check(try trained("llama2-bpe"))
    }

    func testLlama2LegacyPrependReplaceNormalizerMatches() throws {
        try ReferenceFixture("llama2-legacy").check(try trained("llama2-legacy"))
    }

    func testLlama3RegexSplitIgnoreMergesBPEMatches() throws {
        try ReferenceFixture("llama3-bpe").check(try trained("llama3-bpe"))
    }

    func testRobertaByteLevelWithPrefixSpaceAndLstripMaskMatches() throws {
        try ReferenceFixture("roberta-bpe").check(try trained("roberta-bpe"))
    }

    func testNormalizerAndPreTokenizerComponentsWithWordPieceMatch() throws {
        try ReferenceFixture("misc-wordpiece").check(try trained("misc-wordpiece"))
    }

    func testUnigramMetaspaceMatches() throws {
        try ReferenceFixture("unigram").check(try trained("unigram"))
    }

    func testUnigramWithByteFallbackMatches() throws {
        try ReferenceFixture("unigram-bytes").check(try trained("unigram-bytes"))
    }

    func testClassicBPEWithPrefixSuffixSplitBehavioursAndTemplateMatches() throws {
        try ReferenceFixture("classic-bpe").check(try trained("classic-bpe"))
    }

    func testMetaspaceSplitCharDelimiterInvertedSplitAndProcessorSequenceMatch() throws {
        try ReferenceFixture("metaspace-variants").check(try trained("metaspace-variants"))
    }

    /// Byte-level BPE without a normalizer is lossless: decode(encode(line)) == line for every line
    /// that does not spell a special token (those are skipped when decoding).
    func testByteLevelTokenizersRoundTripEveryLine() throws {
        var tokenizers = [try trained("llama3-bpe")]
        if let smol = Fixtures.shared("tokenizers/smollm2-tokenizer.json") { tokenizers.append(try Tokenizer(jsonFile: smol)) }
        for tok in tokenizers {
            let specials = tok.addedTokens.filter(\.special).map(\.content)
            var checked = 0
            for line in ReferenceFixture.corpus where !specials.contains(where: { line.contains($0) }) {
                XCTAssertEqual(tok.decode(tok.encode(line)), line)
                checked += 1
            }
            XCTAssertGreaterThan(checked, 2200)
        }
    }
}

/// Decoding with special tokens kept, against the `tokenizers` library (tokenizers whose training is
/// deterministic; fixtures/tokenizers/decode_specials.json from tools/reference/tokenizers_decode_specials.py).
final class DecodeKeepingSpecialTokensTests: XCTestCase {
    func testDecodeWithSpecialTokensMatchesTokenizersLibrary() throws {
        struct Case: Decodable { let file, text: String; let ids: [Int]; let decoded_keeping_specials, decoded: String }
        struct Fixture: Decodable { let cases: [Case] }
        let path = try Fixtures.required("tokenizers/decode_specials.json", regenerate: "tools/reference/tokenizers_decode_specials.py")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(fixture.cases.count, 4)
        for c in fixture.cases {
            let tok = try Tokenizer(jsonFile: Fixtures.path("tokenizers/" + c.file))
            XCTAssertEqual(tok.encode(c.text), c.ids, c.file)
            XCTAssertEqual(tok.decode(c.ids, skipSpecialTokens: false), c.decoded_keeping_specials, c.file)
            XCTAssertEqual(tok.decode(c.ids), c.decoded, c.file)
        }
    }
}

/// Evaluation-style input: 60,000 characters of WikiText-2 as one string (for the Llama-2-style
/// tokenizer a single 60k-character piece, so the heap merge does the work).
final class LongTextTests: XCTestCase {
    func testLongJoinedTextMatchesTokenizersLibrary() throws {
        struct LongText: Decodable { let text: String; let ids: [String: [Int]] }
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("tokenizers/long_text.ids.json")))
        let fixture = try JSONDecoder().decode(LongText.self, from: data)
        var paths = ["minilm": Fixtures.path("tokenizers/minilm/tokenizer.json"),
                     "llama2-bpe": Fixtures.path("tokenizers/llama2-bpe.tokenizer.json"),
                     "llama3-bpe": Fixtures.path("tokenizers/llama3-bpe.tokenizer.json")]
        if let smol = Fixtures.shared("tokenizers/smollm2-tokenizer.json") { paths["smollm2"] = smol }
        for (name, path) in paths.sorted(by: { $0.key < $1.key }) {
            let tok = try Tokenizer(jsonFile: path)
            tok.truncation = nil
            let want = try XCTUnwrap(fixture.ids[name], name)
            let got = tok.encode(fixture.text)
            XCTAssertEqual(got.count, want.count, name)
            if let k = zip(got, want).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                XCTFail("\(name): first difference at token \(k): \(got[k]) vs \(want[k])")
            }
        }
    }
}
