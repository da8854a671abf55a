// libFuzzer target for the safetensors header parser (`make fuzz`; not part of `swift test`).
// Oracle: any input either parses into entries that tile the data region exactly, or throws a
// CheckpointError. A trap, a sanitizer report or another error type is a finding; libFuzzer writes
// it to Fuzz/crashers/, and MalformedCorpusTests' fuzz-crasher test replays that folder.
import Checkpoints

@_cdecl("LLVMFuzzerTestOneInput")
public func headerFuzzTarget(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    do {
        let parsed = try SafetensorsHeader.parse(bytes, path: "fuzz-input")
        var cursor = 0
        for info in parsed.infos {
            precondition(info.dataRange.lowerBound == cursor, "entries do not tile the data region")
            precondition(info.byteCount == info.elementCount * info.dtype.byteSize, "byte count disagrees with shape")
            cursor = info.dataRange.upperBound
        }
        precondition(parsed.dataStart + cursor == size, "data region not fully used")
        precondition(parsed.dataStart % 1 == 0 && parsed.dataStart >= 8)
    } catch is CheckpointError {
        // expected for malformed input
    } catch {
        preconditionFailure("unexpected error type: \(error)")
    }
    return 0
}
