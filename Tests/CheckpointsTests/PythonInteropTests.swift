import XCTest
import Checkpoints
import Tensors
import TestSupport
import Recipes

/// Files written by Python's `safetensors` read correctly, and files we write load in Python
/// (tools/reference/safetensors_interop.py; CI has no Python, so the Swift-written files are
/// committed fixtures that Python loaded bit-equal and hashed, and this test proves the writer still
/// produces those bytes: their sha256 as Python recorded it). WHITTLE_UPDATE_FIXTURES=1 refreshes the
/// committed copies; the test passes again only after the script's `verify` re-records the hashes.
final class PythonInteropTests: XCTestCase {
    struct Dump: Decodable {
        struct File: Decodable { let metadata: [String: String]; let tensors: [String: Entry] }
        struct Entry: Decodable { let dtype: String; let shape: [Int]; let hex: String; let values: [Double] }
        let files: [String: File]
    }

    static let updating = ProcessInfo.processInfo.environment["WHITTLE_UPDATE_FIXTURES"] == "1"
    let writerMetadata = ["format": "pt", "writer": "Whittle SafetensorsWriter (CheckpointsTests/PythonInteropTests)"]

    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    func testReadsEveryFilePythonWroteBitExact() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("safetensors/python_written.json")))
        let dump = try JSONDecoder().decode(Dump.self, from: data)
        XCTAssertEqual(Set(dump.files.keys), ["all_dtypes.safetensors", "empty.safetensors", "metadata_only.safetensors", "zero_size.safetensors"])
        var checked = 0
        for (fileName, expected) in dump.files {
            let file = try SafetensorsFile(path: Fixtures.path("safetensors/python_written/" + fileName))
            XCTAssertEqual(file.metadata, expected.metadata, fileName)
            XCTAssertEqual(Set(file.names), Set(expected.tensors.keys), fileName)
            for (name, entry) in expected.tensors {
                let tensor = try file.tensor(name)
                XCTAssertEqual(tensor.dtype.rawValue, entry.dtype, name)
                XCTAssertEqual(tensor.shape, entry.shape, name)
                XCTAssertEqual(hex(tensor.elements(as: UInt8.self)), entry.hex, name)
                XCTAssertEqual(tensor.floats(), entry.values.map { Float($0) }, name)
                checked += 1
            }
        }
        XCTAssertEqual(checked, 63)   // 12 dtypes × 5 shapes, plus 3 in zero_size
    }

    func testEmptyAndMetadataOnlyFilesFromPython() throws {
        let empty = try SafetensorsFile(path: Fixtures.path("safetensors/python_written/empty.safetensors"))
        XCTAssertEqual(empty.names, [])
        XCTAssertEqual(empty.metadata, [:])
        let metaOnly = try Checkpoint(path: Fixtures.path("safetensors/python_written/metadata_only.safetensors"))
        XCTAssertEqual(metaOnly.names, [])
        XCTAssertEqual(metaOnly.files[0].metadata["unicode"], "café ✓ \"quoted\"\n")
    }

    /// Rewrites Python's all-dtypes file with our writer; Python loaded the committed result bit-equal.
    func testWriterOutputIsTheFilePythonVerified() throws {
        let source = try SafetensorsFile(path: Fixtures.path("safetensors/python_written/all_dtypes.safetensors"))
        let folder = TemporaryFolder()
        let written = folder.file("swift_written.safetensors")
        let specs = source.infos.map { TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape) }
        try SafetensorsWriter.write(to: written, specs: specs, metadata: writerMetadata) { try source.tensor($0.name) }
        let sharded = folder.file("swift_written_sharded")
        try ShardedWriter.write(folder: sharded, specs: specs, metadata: writerMetadata, maxShardBytes: 1024) { try source.tensor($0.name) }

        // What Python's `safetensors` loaded and hashlib hashed (verify): our output must have those bytes.
        let verified = try XCTUnwrap(try Fixtures.readJSON(try Fixtures.required("safetensors/swift_written.verified.json",
            regenerate: "tools/reference/safetensors_interop.py verify")) as? [String: Any])
        XCTAssertTrue((verified["result"] as? String)?.hasPrefix("ok:") == true, "\(verified["result"] ?? "no result")")
        XCTAssertEqual(verified["tensors"] as? Int, 60)
        XCTAssertEqual(verified["bytes"] as? Int, fileBytes(written).count)
        XCTAssertEqual(sha256(fileBytes(written)), verified["sha256"] as? String,
                       "writer output is not the file Python verified: rerun with WHITTLE_UPDATE_FIXTURES=1, then the script's verify")
        let shardNames = try FileManager.default.contentsOfDirectory(atPath: sharded).sorted()
        let shardHashes = try XCTUnwrap(verified["sharded_sha256"] as? [String: String])
        XCTAssertEqual(shardNames, shardHashes.keys.sorted())
        XCTAssertGreaterThan(shardNames.count, 3)   // several shards + index
        XCTAssertEqual(verified["sharded_files"] as? [String], shardNames.filter { $0.hasSuffix(".safetensors") })
        for name in shardNames {
            XCTAssertEqual(sha256(fileBytes(sharded + "/" + name)), shardHashes[name], name)
        }
        // Refreshing the committed copies (which Python's verify then reads) never makes this test pass by itself:
        // the hashes above come from Python's record.
        if Self.updating {
            let fixture = Fixtures.path("safetensors/swift_written.safetensors"), shardFixture = Fixtures.path("safetensors/swift_written_sharded")
            try? FileManager.default.removeItem(atPath: fixture)
            try? FileManager.default.removeItem(atPath: shardFixture)
            try FileManager.default.copyItem(atPath: written, toPath: fixture)
            try FileManager.default.copyItem(atPath: sharded, toPath: shardFixture)
        }
    }
}

private func sha256(_ bytes: [UInt8]) -> String {
    var h = SHA256()
    h.update(bytes)
    return h.finalize()
}
