import XCTest
import Checkpoints
import Tensors
import TestSupport

final class TensorSinkTests: XCTestCase {
    func testStreamedSlicesMustAddUpToTheSpec() throws {
        let folder = TemporaryFolder()
        let path = folder.file("s.safetensors")
        let spec = TensorSpec(name: "w", dtype: .F32, shape: [4])
        let bytes: [UInt8] = Array(0..<16)
        XCTAssertThrowsError(try SafetensorsWriter.write(to: path, specs: [spec]) { _, sink in
            try bytes[0..<8].withUnsafeBytes { try sink.write($0) }
        }) { XCTAssertEqual($0 as? CheckpointError, .writeFailed(path: path, reason: "tensor 'w' got 8 of its 16 bytes")) }
        XCTAssertThrowsError(try SafetensorsWriter.write(to: path, specs: [spec]) { _, sink in
            try bytes.withUnsafeBytes { try sink.write($0) }
            try bytes[0..<1].withUnsafeBytes { try sink.write($0) }
        }) { XCTAssertEqual($0 as? CheckpointError, .writeFailed(path: path, reason: "tensor 'w' got more than its 16 bytes")) }
        XCTAssertEqual(folder.contents, [])
        try SafetensorsWriter.write(to: path, specs: [spec]) { _, sink in
            for k in stride(from: 0, to: 16, by: 3) { try bytes[k..<min(16, k + 3)].withUnsafeBytes { try sink.write($0) } }
        }
        XCTAssertEqual(try SafetensorsFile(path: path).tensor("w").elements(as: UInt8.self), bytes)
    }

    /// A mapped tensor larger than one slice converts slice by slice exactly like `converted(to:)`.
    func testConvertingCopyOfAMultiSliceTensorMatchesWholeConversion() throws {
        let folder = TemporaryFolder()
        let n = TensorSink.sliceBytes / 4 + 12_345    // two slices of F32, the second partial
        let values = (0..<n).map { Float($0 % 4099) * 0.37 - 700 }
        try SafetensorsWriter.write(to: folder.file("a.safetensors"), tensors: ["w": Tensor(floats: values, shape: [n])])
        let source = try Checkpoint(path: folder.file("a.safetensors"))
        for target in [DType.BF16, .F16, .F64] {
            let out = folder.file("b-\(target).safetensors")
            try source.copyWeights(to: out, convertingFloatsTo: target)
            let copied = try Checkpoint(path: out).tensor("w")
            XCTAssertEqual(copied.dtype, target)
            XCTAssertEqual(copied.elements(as: UInt8.self), try source.tensor("w").converted(to: target).elements(as: UInt8.self), "\(target)")
        }
    }
}
