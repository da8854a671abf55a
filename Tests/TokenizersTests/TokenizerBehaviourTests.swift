import Foundation
import XCTest
import TestSupport
@testable import Tokenizers

/// Bad input, the byte tokenizer, line rendering for `compress tokenize`, truncation.
final class TokenizerBehaviourTests: XCTestCase {
    let minimalBPE = #"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}"#

    func load(_ json: String) throws -> Tokenizer { try Tokenizer(jsonData: Data(json.utf8), source: "t.json") }

    func testMinimalBPEFileEncodesWithMerges() throws {
        let tok = try load(minimalBPE)
        XCTAssertEqual(tok.encode("abab"), [2, 2])
        XCTAssertEqual(tok.encode("ba"), [1, 0])
        XCTAssertEqual(tok.decode([2, 1]), "ab b")   // no decoder: tokens joined by spaces
    }

    func testUnknownNormalizerTypeNamesComponentPathAndSupportedTypes() throws {
        let json = minimalBPE.dropLast() + #", "normalizer": {"type": "Precompiled", "precompiled_charsmap": "AA=="}}"#
        XCTAssertThrowsError(try load(String(json))) { error in
            XCTAssertEqual(error as? TokenizerError, .unsupportedComponent(kind: "normalizer", type: "Precompiled",
                                                                            path: "normalizer", supported: NormalizerFactory.supported))
            XCTAssertTrue("\(error)".contains("NFKC"), "\(error)")
        }
    }

    func testUnknownPreTokenizerInsideSequenceNamesItsPath() throws {
        let json = minimalBPE.dropLast() + #", "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits"}, {"type": "UnicodeScripts"}]}}"#
        XCTAssertThrowsError(try load(String(json))) { error in
            guard case let .unsupportedComponent(kind, type, path, _)? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual([kind, type, path], ["pre_tokenizer", "UnicodeScripts", "pre_tokenizer.pretokenizers[1]"])
        }
    }

    func testUnknownModelAndDecoderTypesThrow() throws {
        XCTAssertThrowsError(try load(#"{"model": {"type": "Tiktoken", "vocab": {}}}"#)) { error in
            XCTAssertEqual(error as? TokenizerError, .unsupportedComponent(kind: "model", type: "Tiktoken", path: "model",
                                                                            supported: ModelFactory.supported))
        }
        XCTAssertThrowsError(try load(minimalBPE.dropLast() + #", "decoder": {"type": "CTC"}}"#)) { error in
            guard case let .unsupportedComponent(kind, type, _, _)? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual([kind, type], ["decoder", "CTC"])
        }
    }

    func testMalformedTokenizerJSONNamesTheJSONPath() throws {
        XCTAssertThrowsError(try load(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", 7]}}"#)) { error in
            XCTAssertEqual(error as? TokenizerError, .malformedJSON(file: "t.json", path: "model.merges[1]",
                                                                     problem: "expected an array, found a number"))
        }
        XCTAssertThrowsError(try load(#"{"model": {"type": "BPE", "merges": []}}"#)) { error in
            XCTAssertEqual(error as? TokenizerError, .malformedJSON(file: "t.json", path: "model.vocab", problem: "missing"))
        }
        XCTAssertThrowsError(try load(#"{"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}}"#)) { error in
            XCTAssertEqual(error as? TokenizerError, .malformedJSON(file: "t.json", path: "model.vocab.a",
                                                                     problem: "expected an integer, found a string"))
        }
        XCTAssertThrowsError(try load(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a c"]}}"#)) { error in
            XCTAssertEqual(error as? TokenizerError, .unknownToken(token: "c", path: "model.merges[0]"))
        }
        XCTAssertThrowsError(try load("{\"model\": ")) { error in
            guard case let .malformedJSON(_, path, problem)? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "")
            XCTAssertTrue(problem.hasPrefix("not valid JSON"), problem)
        }
    }

    func testFolderWithoutTokenizerFilesThrows() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("whittle-empty-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try Tokenizer.load(folder: dir)) { error in
            XCTAssertEqual(error as? TokenizerError, .noTokenizerFiles(folder: dir))
        }
    }

    func testInvalidUTF8IsReportedWithOffsetAndLine() throws {
        let tok = try load(minimalBPE)
        XCTAssertThrowsError(try tok.encode(utf8: [0x61, 0x62, 0xFF, 0x61])) { error in
            XCTAssertEqual(error as? TokenizerError, .invalidUTF8(offset: 2, line: nil))
        }
        XCTAssertEqual(try tok.encode(utf8: Array("abab".utf8)), [2, 2])
        XCTAssertThrowsError(try LineTokenization.lines(of: Array("ok\n".utf8) + [0x61, 0xC3, 0x28])) { error in
            XCTAssertEqual(error as? TokenizerError, .invalidUTF8(offset: 1, line: 2))
        }
    }

    func testByteTokenizerUsesUTF8BytesAsIds() {
        let tok = Tokenizer.bytes()
        XCTAssertEqual(tok.vocabularySize, 256)
        XCTAssertEqual(tok.encode("hé\n"), [104, 195, 169, 10])
        XCTAssertEqual(tok.decode([104, 195, 169, 10]), "hé\n")
        XCTAssertEqual(tok.decode([0x61, 0xFF]), "a\u{FFFD}")
        XCTAssertEqual(tok.idToToken(10), "<0x0A>")
    }

    func testLineRenderingGivesOneArrayPerLineAndEmptyLineGivesSpecialTokensOnly() throws {
        let tok = try Tokenizer.load(folder: Fixtures.path("tokenizers/minilm"))
        let lines = try LineTokenization.lines(of: Array("Hello world\n\nbye\n".utf8))
        XCTAssertEqual(lines, ["Hello world", "", "bye"])
        XCTAssertEqual(LineTokenization.render(tok, lines: lines, addSpecialTokens: true, json: true),
                       "[101,7592,2088,102]\n[101,102]\n[101,9061,102]\n")
        XCTAssertEqual(LineTokenization.render(tok, lines: lines, addSpecialTokens: false, json: false), "7592 2088\n\n9061\n")
        XCTAssertEqual(try LineTokenization.lines(of: []), [""])
        XCTAssertEqual(try LineTokenization.lines(of: Array("a\r\nb".utf8)), ["a", "b"])
    }

    func testLongestFirstPairTruncationMatchesTokenizers() throws {
        // tokenizers: max_length 8 on ("one two three four five six", "alpha beta gamma").
        let tok = try Tokenizer.load(folder: Fixtures.path("tokenizers/minilm"))
        tok.truncation = Truncation(maxLength: 8)
        let e = tok.encodePair("one two three four five six", "alpha beta gamma")
        XCTAssertEqual(e.ids, [101, 2028, 2048, 2093, 102, 6541, 8247, 102])
        XCTAssertEqual(e.typeIds, [0, 0, 0, 0, 0, 1, 1, 1])
        XCTAssertEqual(e.specialTokensMask, [1, 0, 0, 0, 1, 0, 0, 1])
    }

    /// The hand-written GPT-2 / Llama-3 scanners against ICU's engine running the same patterns.
    func testSplitScannersAgreeWithRegexEngineOnCorpus() throws {
        for (pattern, scan) in [(KnownPattern.gpt2, gpt2Matches), (KnownPattern.llama3, { llama3Matches($0, maxDigits: 3) })] {
            let re = try NSRegularExpression(pattern: pattern)
            var checked = 0
            for line in ReferenceFixture.corpus {
                let scalars = Array(line.unicodeScalars)
                let ns = line as NSString
                let viaRegex = re.matches(in: line, range: NSRange(location: 0, length: ns.length)).map {
                    ns.substring(with: $0.range)
                }
                let viaScanner = scan(scalars).map { String(scalars: scalars[$0]) }
                XCTAssertEqual(viaScanner, viaRegex, "\(pattern) on \(line.debugDescription)")
                checked += 1
            }
            XCTAssertGreaterThan(checked, 2000)
        }
    }
}

final class SpecialTokenIdTests: XCTestCase {
    func testSpecialTokenIdsFollowTheVocabulary() throws {
        let roberta = try Tokenizer(jsonFile: Fixtures.path("tokenizers/roberta-bpe.tokenizer.json"))
        XCTAssertEqual([roberta.clsTokenId, roberta.sepTokenId, roberta.bosTokenId, roberta.eosTokenId, roberta.padTokenId, roberta.unkTokenId],
                       [0, 2, 0, 2, 1, 3])
        let llama3 = try Tokenizer(jsonFile: Fixtures.path("tokenizers/llama3-bpe.tokenizer.json"))
        XCTAssertEqual([llama3.bosTokenId, llama3.eosTokenId], [llama3.tokenToId("<|begin_of_text|>"), llama3.tokenToId("<|end_of_text|>")])
        XCTAssertNotNil(llama3.bosTokenId)
        XCTAssertNil(llama3.padTokenId)
        let llama2 = try Tokenizer(jsonFile: Fixtures.path("tokenizers/llama2-bpe.tokenizer.json"))
        XCTAssertEqual([llama2.unkTokenId, llama2.bosTokenId, llama2.eosTokenId], [0, 1, 2])
        XCTAssertEqual(llama2.idToToken(3 + 0x41), "<0x41>")
    }
}
