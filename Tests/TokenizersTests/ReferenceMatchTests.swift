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

/// Decoding with special tokens kept, against values printed by the `tokenizers` library 0.23.3
/// (tokenizers whose training is deterministic; the fixtures cover the others).
final class DecodeKeepingSpecialTokensTests: XCTestCase {
    func testDecodeWithSpecialTokensMatchesTokenizersLibrary() throws {
        let cases: [(String, String, [Int], String, String)] = [
            ("llama2-bpe.tokenizer.json", "Hello world", [1, 464, 625, 365, 559, 1026], "<s> Hello world", "Hello world"),
            ("llama3-bpe.tokenizer.json", "Hello world", [0, 41, 478, 80, 1114], "<|begin_of_text|>Hello world", "Hello world"),
            ("roberta-bpe.tokenizer.json", "Hello <mask> world", [0, 469, 288, 82, 1000, 611, 337, 2], "<s> Hello<mask> world</s>", " Hello world"),
            ("minilm/tokenizer.json", "Hello world", [101, 7592, 2088, 102], "[CLS] hello world [SEP]", "hello world"),
        ]
        for (file, text, ids, kept, skipped) in cases {
            let tok = try Tokenizer(jsonFile: Fixtures.path("tokenizers/" + file))
            XCTAssertEqual(tok.encode(text), ids, file)
            XCTAssertEqual(tok.decode(ids, skipSpecialTokens: false), kept, file)
            XCTAssertEqual(tok.decode(ids), skipped, file)
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
