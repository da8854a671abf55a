// libFuzzer target for the GGUF header parser, the dequantizers and the metadata readers (`make fuzz`;
// not part of `swift test`). Oracle: any input either parses into tensors that lie inside the file,
// aligned and without overlap, whose dequantization runs, or throws a CheckpointError; a parsed file
// then goes through what a `.gguf` model path meets (GGUFTensorStore: names, config.json; the
// tokenizer.json rebuild), which must also end in a value or a CheckpointError. A trap, a sanitizer
// report or another error type is a finding; libFuzzer writes it to Fuzz/crashers/gguf-*.
import Checkpoints
import Foundation

/// The metadata readers take a mapped file: each input is written to one scratch file in /dev/shm.
let scratch = "/dev/shm/whittle-gguf-fuzz-\(getpid()).gguf"

@_cdecl("LLVMFuzzerTestOneInput")
public func ggufFuzzTarget(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    do {
        let parsed = try GGUFHeader.parse(bytes, path: "fuzz-input")
        // A file without tensors needs no padding after its metadata (llama.cpp reads it too): its data
        // section may start past the end (fixtures/gguf/fuzz-crashers/tensorless_no_padding.gguf).
        precondition(parsed.dataStart % parsed.alignment == 0 && (parsed.tensors.isEmpty || parsed.dataStart <= size), "data section outside the file")
        var ranges: [Range<Int>] = []
        for info in parsed.tensors {
            precondition(info.offset % parsed.alignment == 0, "misaligned tensor")
            precondition(info.byteCount == info.elementCount / info.type.blockSize * info.type.blockBytes, "byte count disagrees with shape")
            precondition(parsed.dataStart + info.dataRange.upperBound <= size, "tensor past the end")
            ranges.append(info.dataRange)
            if GGMLType.dequantizable.contains(info.type), info.elementCount <= 1 << 16 {
                let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: info.elementCount)
                defer { out.deallocate() }
                dequantizeGGML(out, UnsafeRawBufferPointer(rebasing: bytes[(parsed.dataStart + info.offset)..<(parsed.dataStart + info.offset + info.byteCount)]), type: info.type)
            }
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        for (a, b) in zip(ranges, ranges.dropFirst()) where !a.isEmpty && !b.isEmpty { precondition(a.upperBound <= b.lowerBound, "overlapping tensors") }

        FileManager.default.createFile(atPath: scratch, contents: Data(bytes))
        let file = try GGUFFile(path: scratch)
        do { _ = try GGUFTokenizerJSON.document(file) } catch is CheckpointError {}
        let store = try GGUFTensorStore(file)
        for name in store.names where (store.spec(name)?.shape.reduce(1, *) ?? 0) <= 1 << 16 { _ = try store.tensor(name) }
    } catch is CheckpointError {
        // expected for malformed input
    } catch {
        preconditionFailure("unexpected error type: \(error)")
    }
    return 0
}
