import Foundation
import Passes
import XCTest

/// The decoding every pass shares (PassDecoding.swift): defaults from `Self()`, unknown keys rejected.
final class PassDecodingTests: XCTestCase {
    func decode<P: Pass>(_ type: P.Type, _ json: String) throws -> P {
        try JSONDecoder().decode(P.self, from: Data(json.utf8))
    }

    func encoded(_ pass: any Pass) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(pass), as: UTF8.self)
    }

    func testEveryRegisteredPassDecodesAnEmptyObjectToItsDefaults() throws {
        for type in PassRegistry.passes {
            let decoded = try decode(type, #"{"pass": "\#(type.kind)"}"#)
            XCTAssertEqual(try encoded(decoded), try encoded(type.defaults), type.kind)
        }
    }

    func testEveryRegisteredPassRejectsAnUnknownKeyNamingTheAllowedOnes() {
        for type in PassRegistry.passes {
            XCTAssertThrowsError(try decode(type, #"{"pass": "\#(type.kind)", "typo": 1}"#), type.kind) { error in
                guard case let DecodingError.dataCorrupted(context)? = error as? DecodingError else { return XCTFail("\(error)") }
                XCTAssertEqual(context.codingPath.map(\.stringValue), ["typo"])
                XCTAssertTrue(context.debugDescription.hasPrefix("unknown key 'typo'; allowed: pass, "), context.debugDescription)
            }
        }
    }

    func testGivenKeysOverwriteDefaultsAndNullClearsAnOptionalDefault() throws {
        let tuned = try decode(FineTuning.self, #"{"lr": 0.5, "max_grad_norm": null}"#)
        XCTAssertEqual(tuned.lr, 0.5)
        XCTAssertNil(tuned.maxGradNorm)
        XCTAssertEqual(tuned.batchSize, FineTuning.defaults.batchSize)
        XCTAssertEqual(try decode(FineTuning.self, "{}").maxGradNorm, 1)
        XCTAssertEqual(try decode(NF4Quantization.self, #"{"block_size": null}"#).blockSize, 64, "null keeps a non-optional default")
    }
}
