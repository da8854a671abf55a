import XCTest
import Checkpoints
import Tensors
import TestSupport

/// The GGUF reader against ggml's own Python package (fixtures/gguf from
/// tools/reference/gguf_reference.py) and the hostile corpus fixtures/gguf/malformed
/// (tools/reference/gguf_malformed.py).
final class GGUFTests: XCTestCase {
    static func path(_ name: String) -> String { Fixtures.path("gguf/" + name) }

    // MARK: dequantization

    func testEveryTypeDequantizesBitExactlyLikeGGUFPy() throws {
        let file = try GGUFFile(path: Self.path("types.gguf"))
        let reference = try SafetensorsFile(path: Self.path("types.reference.safetensors"))
        XCTAssertEqual(reference.metadata["generator"], "tools/reference/gguf_reference.py")
        XCTAssertEqual(Set(file.tensors.map(\.type)), Set(GGMLType.dequantizable), "every supported type is covered")
        XCTAssertEqual(Set(file.names), Set(reference.names), "regenerate both with tools/reference/gguf_reference.py")
        for info in file.tensors {
            XCTAssertEqual(info.type.name.lowercased(), String(info.name.split(separator: ".")[0]), info.name)
            let expected = try reference.tensor(info.name)
            XCTAssertEqual(info.shape, expected.shape, "\(info.name): shape")
            let ours = try file.floats(info.name), theirs = expected.floats()
            let bad = zip(ours, theirs).enumerated().filter { $1.0.bitPattern != $1.1.bitPattern }
            let worst = zip(ours, theirs).map { abs($0 - $1) }.max() ?? 0
            XCTAssertTrue(bad.isEmpty, "\(info.name) (\(info.type)): \(bad.count) of \(ours.count) values differ, worst \(worst); "
                + "first: " + bad.prefix(4).map { "[\($0.offset)] ours \($0.element.0) gguf-py \($0.element.1)" }.joined(separator: ", "))
        }
    }

    func testShapesAreReportedInPyTorchOrder() throws {
        let file = try GGUFFile(path: Self.path("types.gguf"))
        let info = try XCTUnwrap(file.info("q4_0.3d"))
        XCTAssertEqual(info.dimensions, [32, 2, 2])   // ggml: ne[0] is the row length
        XCTAssertEqual(info.shape, [2, 2, 32])
        XCTAssertEqual(info.byteCount, 4 * 18)
        XCTAssertEqual(try file.rawTensor("q4_0.3d").byteCount, 72)
        XCTAssertEqual(try file.dequantized("q6_k.2d").shape, [2, 256])
        XCTAssertThrowsError(try file.floats("missing")) {
            XCTAssertEqual($0 as? CheckpointError, .tensorNotFound(path: Self.path("types.gguf"), name: "missing"))
        }
    }

    // MARK: metadata

    func testMetadataOfEveryValueTypeReadsBackAsWritten() throws {
        for (name, version) in [("metadata.gguf", UInt32(3)), ("metadata_v2.gguf", 2)] {
            let file = try GGUFFile(path: Self.path(name))
            XCTAssertEqual(file.version, version)
            let expected: [(String, GGUFValue)] = [
                ("general.architecture", .string("whittle-test")),
                ("general.alignment", .uint32(64)),
                ("test.uint8", .uint8(200)),
                ("test.int8", .int8(-100)),
                ("test.uint16", .uint16(60000)),
                ("test.int16", .int16(-30000)),
                ("test.uint32", .uint32(4_000_000_000)),
                ("test.int32", .int32(-2_000_000_000)),
                ("test.float32", .float32(0.1)),
                ("test.bool_true", .bool(true)),
                ("test.bool_false", .bool(false)),
                ("test.string", .string("héllo, wörld ✓ 🦙")),
                ("test.string_empty", .string("")),
                ("test.uint64", .uint64(9_223_372_036_854_775_813)),
                ("test.int64", .int64(-4_611_686_018_427_387_904)),
                ("test.float64", .float64(1.0 / 3.0)),
                ("test.array_int32", .array(.int32, [.int32(1), .int32(-2), .int32(3)])),
                ("test.array_uint8", .array(.uint8, [.uint8(0), .uint8(255)])),
                ("test.array_string", .array(.string, [.string("a"), .string("bc"), .string("")])),
                ("test.array_float32", .array(.float32, [.float32(0.5), .float32(-1.25)])),
                ("test.array_bool", .array(.bool, [.bool(true), .bool(false), .bool(true)])),
                ("test.array_nested", .array(.array, [.array(.string, [.string("x"), .string("y")]), .array(.string, [.string("z")])])),
            ]
            XCTAssertEqual(file.keys, expected.map(\.0), name)
            for (key, value) in expected { XCTAssertEqual(file.metadata[key], value, "\(name): \(key)") }
            XCTAssertEqual(file.metadata["test.uint32"]?.int, 4_000_000_000)
            XCTAssertEqual(file.metadata["test.float32"]?.double, Double(Float(0.1)))

            XCTAssertEqual(file.alignment, 64)
            XCTAssertEqual(file.dataStart % 64, 0)
            XCTAssertEqual(file.tensors.map(\.offset), [0, 64], "offsets padded to the custom alignment")
            XCTAssertEqual(file.info("weight")?.shape, [3, 5])
            XCTAssertEqual(try file.floats("weight"), (0..<15).map(Float.init))
            XCTAssertEqual(file.info("bias")?.type, .F16)
            XCTAssertEqual(try file.floats("bias"), [1, -2, 0.5])
        }
    }

    // MARK: hostile files

    static let expected: [String: (String) -> CheckpointError] = [
        "empty.gguf": { .ggufTruncated(path: $0, reading: "the magic", at: 0) },
        "bad_magic.gguf": { .ggufBadMagic(path: $0, found: "0x47 0x47 0x4d 0x4c") },
        "unsupported_version.gguf": { .ggufUnsupportedVersion(path: $0, version: 1) },
        "truncated_header.gguf": { .ggufTruncated(path: $0, reading: "the tensor count", at: 10) },
        "truncated_tensor_info.gguf": { .ggufTruncated(path: $0, reading: "the dimensions of 'a'", at: 89) },
        "tensor_count_overflow.gguf": { .ggufCountTooLarge(path: $0, what: "tensor infos", count: 1 << 63, remaining: 136) },
        "kv_count_overflow.gguf": { .ggufCountTooLarge(path: $0, what: "metadata entries", count: 1 << 40, remaining: 136) },
        "key_past_end.gguf": { .ggufStringPastEnd(path: $0, what: "metadata key 0", length: 1000, remaining: 12) },
        "string_past_end.gguf": { .ggufStringPastEnd(path: $0, what: "the value of 'general.name'", length: 1 << 62, remaining: 4) },
        "array_past_end.gguf": { .ggufCountTooLarge(path: $0, what: "float32 elements of 'tokenizer.ggml.scores'", count: 1 << 40, remaining: 16) },
        "padding_past_end.gguf": { .ggufTruncated(path: $0, reading: "the padding before the tensor data", at: 102) },
        "duplicate_key.gguf": { .ggufDuplicateKey(path: $0, key: "general.architecture") },
        "empty_key.gguf": { .ggufInvalidMetadata(path: $0, key: "", reason: "key 0 is empty") },
        "non_utf8_key.gguf": { .ggufInvalidMetadata(path: $0, key: "general.\u{FFFD}", reason: "metadata key 0 is not valid UTF-8") },
        "unknown_value_type.gguf": { .ggufInvalidMetadata(path: $0, key: "general.x", reason: "unknown value type 13") },
        "unknown_array_type.gguf": { .ggufInvalidMetadata(path: $0, key: "general.x", reason: "unknown array element type 99") },
        "bad_bool.gguf": { .ggufInvalidMetadata(path: $0, key: "general.flag", reason: "bool byte 2 is neither 0 nor 1") },
        "nested_too_deep.gguf": { .ggufInvalidMetadata(path: $0, key: "general.deep", reason: "arrays nested deeper than 8 levels") },
        "alignment_not_power_of_two.gguf": { .ggufBadAlignment(path: $0, alignment: 48) },
        "alignment_zero.gguf": { .ggufBadAlignment(path: $0, alignment: 0) },
        "alignment_wrong_type.gguf": { .ggufInvalidMetadata(path: $0, key: "general.alignment", reason: "must be a uint32, found uint64") },
        "duplicate_tensor_name.gguf": { .duplicateTensor(path: $0, name: "a") },
        "name_too_long.gguf": { .ggufInvalidTensor(path: $0, name: String(repeating: "w", count: 64), reason: "name is 64 bytes, longer than ggml's 63") },
        "unknown_type.gguf": { .ggufUnknownType(path: $0, name: "a", type: 4) },
        "too_many_dims.gguf": { .ggufInvalidTensor(path: $0, name: "a", reason: "5 dimensions (ggml allows at most 4)") },
        "shape_overflow.gguf": { .ggufInvalidTensor(path: $0, name: "a", reason: "dimensions [4294967296, 4294967296] (ggml order) overflow 64 bits") },
        "row_not_whole_blocks.gguf": { .ggufInvalidTensor(path: $0, name: "a", reason: "row length 33 is not a multiple of the Q4_0 block size 32") },
        "misaligned_offset.gguf": { .ggufMisaligned(path: $0, name: "a", offset: 4, alignment: 32) },
        "data_past_end.gguf": { .offsetsOutOfBounds(path: $0, name: "a", end: 64, dataSize: 32) },
        "offset_past_end.gguf": { .offsetsOutOfBounds(path: $0, name: "b", end: (1 << 62) + 32, dataSize: 32) },
        "overlapping_tensors.gguf": { .overlappingTensors(path: $0, first: "a", second: "b") },
    ]

    func testEveryMalformedFileGivesItsSpecificError() throws {
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: Self.path("malformed")).filter { $0.hasSuffix(".gguf") }
        XCTAssertEqual(Set(onDisk), Set(Self.expected.keys), "corpus and expectations differ (tools/reference/gguf_malformed.py)")
        for (name, error) in Self.expected.sorted(by: { $0.key < $1.key }) {
            let path = Self.path("malformed/" + name)
            XCTAssertThrowsError(try GGUFFile(path: path), name) { thrown in
                XCTAssertEqual(thrown as? CheckpointError, error(path), name)
            }
        }
    }

    func testMessagesAreOneLineNamingTheFile() {
        for (name, error) in Self.expected {
            let path = Self.path("malformed/" + name)
            let text = error(path).description
            XCTAssertTrue(text.hasPrefix(path + ": "), text)
            XCTAssertFalse(text.contains("\n"), text)
        }
    }

    /// The header parser on every prefix of a valid file and single-byte corruptions of it: only
    /// CheckpointErrors, never a trap; almost every truncation is caught.
    func testTruncationsAndByteFlipsNeverTrap() throws {
        let valid = fileBytes(Self.path("metadata.gguf"))
        var acceptedPrefixes = 0
        func check(_ bytes: [UInt8]) -> Bool {
            do { _ = try bytes.withUnsafeBytes { try GGUFHeader.parse($0, path: "mutant") }; return true }
            catch { XCTAssertTrue(error is CheckpointError, "\(error)"); return false }
        }
        for n in 0..<valid.count where check(Array(valid[..<n])) { acceptedPrefixes += 1 }
        // The last tensor ("bias", 6 bytes at data offset 64) ends 58 bytes before the file's padded end.
        XCTAssertEqual(acceptedPrefixes, 58)
        for i in 0..<valid.count {
            for v: UInt8 in [0, 0xFF, 0x80, valid[i] ^ 1] where v != valid[i] {
                var bytes = valid; bytes[i] = v; _ = check(bytes)
            }
        }
    }
}
