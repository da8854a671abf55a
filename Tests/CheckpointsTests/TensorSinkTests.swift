import XCTest
@testable import Checkpoints
import Foundation
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

    /// Conversions written straight into the file's buffers: an odd-length BF16 tensor first so the
    /// next tensor starts 2 bytes off a 4-byte boundary, then tensors spanning several buffers.
    func testConvertingCopyAcrossBufferEdgesAtOddOffsets() throws {
        let folder = TemporaryFolder()
        let big = OutputFile.bufferBytes / 4 * 2 + 4_097       // F32 output over two buffers plus a ragged end
        let tensors: [String: Tensor] = [
            "a": Tensor(floats: (0..<7).map { Float($0) + 0.5 }, shape: [7], dtype: .BF16),
            "b": Tensor(floats: (0..<big).map { Float($0 % 65_521) * 0.013 - 400 }, shape: [big], dtype: .BF16),
            "c": Tensor(floats: (0..<1_001).map { Float($0) * -0.25 }, shape: [1_001], dtype: .F16),
            "d": Tensor(floats: (0..<(big / 3)).map { Float($0 % 997) }, shape: [big / 3], dtype: .F32),
        ]
        try SafetensorsWriter.write(to: folder.file("in.safetensors"), tensors: tensors)
        let source = try Checkpoint(path: folder.file("in.safetensors"))
        for target in [DType.F32, .F16, .BF16] {
            let out = folder.file("out-\(target).safetensors")
            try source.copyWeights(to: out, convertingFloatsTo: target)
            let copied = try Checkpoint(path: out)
            for name in tensors.keys.sorted() {
                XCTAssertEqual(try copied.tensor(name).elements(as: UInt8.self),
                               try source.tensor(name).converted(to: target).elements(as: UInt8.self), "\(name) → \(target)")
            }
        }
    }

    /// A write the kernel refuses part-way (here the process's file-size limit, as a full disk would)
    /// fails with the destination's path and the system's reason, and leaves no file behind.
    func testFailedWriteNamesTheDestinationAndLeavesNothing() throws {
        let folder = TemporaryFolder()
        let path = folder.file("out.safetensors")
        let n = 6 << 20
        var saved = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved)
        var limited = saved
        limited.rlim_cur = 4 << 20
        let oldHandler = signal(SIGXFSZ, SIG_IGN)             // EFBIG instead of the signal
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limited), 0)
        defer {
            setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &saved)
            signal(SIGXFSZ, oldHandler)
        }
        XCTAssertThrowsError(try SafetensorsWriter.write(to: path, tensors: ["w": Tensor(floats: [Float](repeating: 1, count: n), shape: [n])])) {
            XCTAssertEqual($0 as? CheckpointError, .writeFailed(path: path, reason: String(cString: strerror(EFBIG))))
        }
        XCTAssertEqual(folder.contents, [])
    }
}
