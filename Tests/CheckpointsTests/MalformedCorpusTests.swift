import XCTest
import Checkpoints
import TestSupport

/// Every file of fixtures/safetensors/malformed/ (tools/reference/safetensors_malformed.py) is
/// rejected with its own specific CheckpointError, never a trap.
final class MalformedCorpusTests: XCTestCase {
    static func path(_ name: String) -> String { Fixtures.path("safetensors/malformed/" + name) }

    static let limit = SafetensorsFile.headerLimit
    static let expected: [String: (String) -> CheckpointError] = [
        "empty.safetensors": { .tooSmall(path: $0, size: 0) },
        "too_small.safetensors": { .tooSmall(path: $0, size: 3) },
        "header_past_eof.safetensors": { .headerLengthPastEnd(path: $0, headerLength: 4096, fileSize: 70) },
        "absurd_header_length.safetensors": { .headerTooLarge(path: $0, headerLength: 9223372036854775815, limit: limit) },
        "truncated_header.safetensors": { .headerLengthPastEnd(path: $0, headerLength: 54, fileSize: 30) },
        "truncated_data.safetensors": { .offsetsOutOfBounds(path: $0, name: "a", end: 8, dataSize: 5) },
        "invalid_json.safetensors": { .invalidHeaderJSON(path: $0, reason: "unterminated object at header byte 59") },
        "invalid_number.safetensors": { .invalidHeaderJSON(path: $0, reason: "malformed number at header byte 30") },
        "trailing_json.safetensors": { .invalidHeaderJSON(path: $0, reason: "unexpected data after the JSON value at header byte 3") },
        "deep_nesting.safetensors": { .invalidHeaderJSON(path: $0, reason: "nesting deeper than 64 levels at header byte 79") },
        "non_object_json.safetensors": { .headerNotObject(path: $0) },
        "non_utf8_header.safetensors": { .headerNotUTF8(path: $0) },
        "duplicate_names.safetensors": { .duplicateTensor(path: $0, name: "a") },
        "duplicate_field.safetensors": { .invalidEntry(path: $0, name: "a", reason: "field 'dtype' appears twice") },
        "entry_not_object.safetensors": { .invalidEntry(path: $0, name: "a", reason: "entry must be an object with dtype, shape, data_offsets") },
        "entry_missing_offsets.safetensors": { .invalidEntry(path: $0, name: "a", reason: "needs dtype, shape and data_offsets") },
        "entry_unknown_field.safetensors": { .invalidEntry(path: $0, name: "a", reason: "unexpected field 'strides'") },
        "metadata_not_strings.safetensors": { .invalidMetadata(path: $0, reason: "value of 'epochs' must be a string") },
        "unknown_dtype.safetensors": { .unknownDType(path: $0, name: "a", dtype: "F128") },
        "negative_shape.safetensors": { .invalidShape(path: $0, name: "a", shape: "[-2]") },
        "fractional_shape.safetensors": { .invalidShape(path: $0, name: "a", shape: "[2.0]") },
        "overflowing_shape.safetensors": { .invalidShape(path: $0, name: "a", shape: "[4294967296, 4294967296]") },
        "overflowing_bytes.safetensors": { .invalidShape(path: $0, name: "a", shape: "[2147483648, 2147483648]") },
        "length_dtype_mismatch.safetensors": { .byteLengthMismatch(path: $0, name: "a", expected: 4, found: 8) },
        "reversed_offsets.safetensors": { .invalidEntry(path: $0, name: "a", reason: "data_offsets must be [begin, end] with 0 ≤ begin ≤ end") },
        "out_of_bounds.safetensors": { .offsetsOutOfBounds(path: $0, name: "b", end: 16, dataSize: 8) },
        "overlapping.safetensors": { .overlappingTensors(path: $0, first: "a", second: "b") },
        "gapped_offsets.safetensors": { .gapInData(path: $0, after: "a", gapStart: 4, gapEnd: 8) },
        "gap_at_start.safetensors": { .gapInData(path: $0, after: "(start)", gapStart: 0, gapEnd: 4) },
        "trailing_bytes.safetensors": { .trailingBytes(path: $0, used: 4, dataSize: 8) },
    ]

    func testEveryMalformedFileGivesItsSpecificError() throws {
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: Self.path("")).filter { $0.hasSuffix(".safetensors") }
        XCTAssertEqual(Set(onDisk), Set(Self.expected.keys), "corpus and expectations differ")
        XCTAssertGreaterThanOrEqual(onDisk.count, 15)
        for (name, error) in Self.expected.sorted(by: { $0.key < $1.key }) {
            let path = Self.path(name)
            XCTAssertThrowsError(try SafetensorsFile(path: path), name) { thrown in
                XCTAssertEqual(thrown as? CheckpointError, error(path), name)
            }
        }
    }

    func testBadShardIndexFoldersGiveTheirSpecificError() {
        func index(_ folder: String) -> String { Self.path(folder + "/model.safetensors.index.json") }
        let cases: [(String, CheckpointError)] = [
            ("shard_missing_file", .shardMissing(index: index("shard_missing_file"), shard: "model-00002-of-00002.safetensors")),
            ("shard_missing_tensor", .indexNamesMissingTensor(index: index("shard_missing_tensor"), name: "b", shard: "model-00001-of-00001.safetensors")),
            ("shard_unlisted_tensor", .indexOmitsTensor(index: index("shard_unlisted_tensor"), name: "b", shard: "model-00001-of-00001.safetensors")),
            ("shard_outside_folder", .invalidIndex(path: index("shard_outside_folder"), reason: "shard '../truncated_data.safetensors' must be a file name in the same folder")),
            ("shard_index_not_object", .invalidIndex(path: index("shard_index_not_object"), reason: "must be a JSON object")),
            ("shard_bad_inside", .unknownDType(path: Self.path("shard_bad_inside/model-00001-of-00001.safetensors"), name: "a", dtype: "BF8")),
        ]
        for (folder, expected) in cases {
            XCTAssertThrowsError(try Checkpoint(path: Self.path(folder)), folder) { XCTAssertEqual($0 as? CheckpointError, expected, folder) }
        }
    }

    /// Each message is one line naming the file and the problem (what `compress inspect` prints).
    func testMessagesAreOneLineNamingTheFile() {
        for (name, error) in Self.expected {
            let text = error(Self.path(name)).description
            XCTAssertTrue(text.hasPrefix(Self.path(name) + ": "), text)
            XCTAssertFalse(text.contains("\n"), text)
        }
        let hostile = CheckpointError.tensorNotFound(path: "x.safetensors", name: "evil\nname\u{7}")
        XCTAssertEqual(hostile.description, "x.safetensors: no tensor named 'evil\\u{a}name\\u{7}'")
    }

    /// The header parser on every corpus file plus every prefix of a valid file and single-byte
    /// corruptions of it: only CheckpointErrors, never a trap (the fuzz target's oracle, in miniature).
    func testTruncationsAndByteFlipsOfAValidFileNeverTrap() throws {
        let valid = fileBytes(Fixtures.path("safetensors/python_written/zero_size.safetensors"))
        var accepted = 0
        func check(_ bytes: [UInt8]) {
            do { _ = try bytes.withUnsafeBytes { try SafetensorsHeader.parse($0, path: "mutant") }; accepted += 1 }
            catch { XCTAssertTrue(error is CheckpointError, "\(error)") }
        }
        for n in 0..<valid.count { check(Array(valid[..<n])) }
        for i in 0..<valid.count {
            for v: UInt8 in [0, 0x22, 0x7B, 0xFF, valid[i] ^ 1] where v != valid[i] {
                var bytes = valid; bytes[i] = v; check(bytes)
            }
        }
        XCTAssertLessThan(accepted, 60)   // almost every mutation is caught (some land in padding or metadata text)
    }
}
