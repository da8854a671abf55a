import XCTest
@testable import Checkpoints
import Tensors
import TestSupport

final class SafetensorsWriterTests: XCTestCase {
    /// One tensor of every dtype (random bytes, so every bit pattern class appears), odd shapes,
    /// a scalar and zero-size tensors.
    func sampleTensors() -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        var rng = seededGenerator(401)
        for (k, dtype) in DType.allCases.enumerated() {
            for (s, shape) in [[3, 5, 7], [], [0], [2, 0, 3]].enumerated() {
                let count = shape.reduce(1, *) * dtype.byteSize
                var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if dtype == .BOOL { bytes = bytes.map { $0 & 1 } }
                tensors["t\(k).\(dtype.rawValue).s\(s)"] = bytes.withUnsafeBytes { Tensor(dtype: dtype, shape: shape, bytes: $0) }
            }
        }
        return tensors
    }

    func testRoundTripIsBitExactForEveryDType() throws {
        let folder = TemporaryFolder()
        let tensors = sampleTensors()
        let metadata = ["format": "pt", "note": "quote \" backslash \\ newline \n tab \t bell \u{7} é ✓"]
        try SafetensorsWriter.write(to: folder.file("m.safetensors"), tensors: tensors, metadata: metadata)
        let file = try SafetensorsFile(path: folder.file("m.safetensors"))
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(file.names.sorted(), tensors.keys.sorted())
        for (name, tensor) in tensors {
            let read = try file.tensor(name)
            XCTAssertEqual(read.dtype, tensor.dtype, name)
            XCTAssertEqual(read.shape, tensor.shape, name)
            XCTAssertEqual(read.elements(as: UInt8.self), tensor.elements(as: UInt8.self), name)
        }
        XCTAssertEqual(folder.contents, ["m.safetensors"], "no temporary file left")
    }

    func testHeaderIsSortedPaddedAndLittleEndian() throws {
        let folder = TemporaryFolder()
        let tensors = ["b": Tensor(floats: [1, 2, 3], shape: [3]), "a": Tensor(floats: [4], shape: [1], dtype: .F16)]
        try SafetensorsWriter.write(to: folder.file("h.safetensors"), tensors: tensors, metadata: ["k": "v"])
        let bytes = fileBytes(folder.file("h.safetensors"))
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(length % 8, 0)
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        XCTAssertEqual(header.trimmingCharacters(in: .whitespaces),
                       #"{"__metadata__":{"k":"v"},"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"F32","shape":[3],"data_offsets":[2,14]}}"#)
        XCTAssertEqual(bytes.count, 8 + length + 14)
    }

    func testEmptyAndMetadataOnlyFilesRoundTrip() throws {
        let folder = TemporaryFolder()
        try SafetensorsWriter.write(to: folder.file("e.safetensors"), tensors: [:])
        XCTAssertEqual(fileBytes(folder.file("e.safetensors")), [8, 0, 0, 0, 0, 0, 0, 0] + Array("{}      ".utf8))
        XCTAssertEqual(try SafetensorsFile(path: folder.file("e.safetensors")).names, [])
        try SafetensorsWriter.write(to: folder.file("m.safetensors"), tensors: [:], metadata: ["only": "metadata"])
        XCTAssertEqual(try SafetensorsFile(path: folder.file("m.safetensors")).metadata, ["only": "metadata"])
    }

    func testRefusesToOverwriteAnInputAndKeepsItIntact() throws {
        let folder = TemporaryFolder()
        let path = folder.file("in.safetensors")
        try SafetensorsWriter.write(to: path, tensors: ["a": Tensor(floats: [1], shape: [1])])
        let before = fileBytes(path)
        let source = try Checkpoint(path: path)
        let alias = folder.file("alias.safetensors")
        XCTAssertEqual(symlink(path, alias), 0)
        for target in [path, alias] {
            XCTAssertThrowsError(try source.copyWeights(to: target)) {
                XCTAssertEqual($0 as? CheckpointError, .wouldOverwriteInput(path: target))
            }
        }
        XCTAssertEqual(fileBytes(path), before)
    }

    func testFailedProduceLeavesTheOldFileAndNoTemporary() throws {
        let folder = TemporaryFolder()
        let path = folder.file("out.safetensors")
        try SafetensorsWriter.write(to: path, tensors: ["a": Tensor(floats: [1], shape: [1])])
        let before = fileBytes(path)
        let specs = [TensorSpec(name: "a", dtype: .F32, shape: [2]), TensorSpec(name: "b", dtype: .F32, shape: [1])]
        XCTAssertThrowsError(try SafetensorsWriter.write(to: path, specs: specs) { spec in
            Tensor(floats: [1], shape: [1])   // wrong shape for "a"
        }) { error in
            XCTAssertEqual(error as? CheckpointError, .writeFailed(path: path, reason: "tensor 'a' was produced as F32 [1], header says F32 [2]"))
        }
        struct Boom: Error {}
        XCTAssertThrowsError(try SafetensorsWriter.write(to: path, specs: specs) { spec in
            if spec.name == "b" { throw Boom() }
            return Tensor(floats: [1, 2], shape: [2])
        }) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(fileBytes(path), before)
        XCTAssertEqual(folder.contents, ["out.safetensors"])
    }

    func testRejectsDuplicateReservedAndNegativeSpecs() {
        let folder = TemporaryFolder()
        let path = folder.file("x.safetensors")
        let cases: [([TensorSpec], String)] = [
            ([TensorSpec(name: "a", dtype: .F32, shape: [1]), TensorSpec(name: "a", dtype: .F16, shape: [1])], "tensor 'a' is listed twice"),
            ([TensorSpec(name: "__metadata__", dtype: .F32, shape: [1])], "'__metadata__' is reserved and cannot name a tensor"),
            ([TensorSpec(name: "n", dtype: .F32, shape: [2, -1])], "tensor 'n' has invalid shape [2, -1]"),
        ]
        for (specs, reason) in cases {
            XCTAssertThrowsError(try SafetensorsWriter.write(to: path, specs: specs) { _ in XCTFail("produced"); return .zeros([1]) }) {
                XCTAssertEqual($0 as? CheckpointError, .writeFailed(path: path, reason: reason))
            }
        }
        XCTAssertEqual(folder.contents, [])
    }

    func testReleasedPagesAreReadAgainCorrectly() throws {
        let folder = TemporaryFolder()
        let values = (0..<300_000).map { Float($0) * 0.5 }
        try SafetensorsWriter.write(to: folder.file("r.safetensors"), tensors: ["w": Tensor(floats: values, shape: [300_000])])
        let file = try SafetensorsFile(path: folder.file("r.safetensors"))
        XCTAssertEqual(try file.tensor("w").floats(), values)
        file.release(file.info("w")!)
        XCTAssertEqual(try file.tensor("w").floats(), values)
    }
}
