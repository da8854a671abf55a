import Checkpoints
import CZlib
import Foundation

/// Peak resident set size of this process (VmHWM in /proc/self/status), in bytes; nil where unavailable.
public func peakRSSBytes() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let parts = line.split(whereSeparator: \.isWhitespace)
        if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
    }
    return nil
}

/// The weight files of a checkpoint: the file itself, or every `.safetensors` file in a folder, sorted.
public func weightFiles(of path: String) throws -> [String] {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw EvaluationError.fileNotFound(path: path) }
    if !isFolder.boolValue { return [path] }
    let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".safetensors") }.sorted()
    return names.map { (path as NSString).appendingPathComponent($0) }
}

/// Bytes on disk of a checkpoint's weight files.
public func onDiskBytes(_ path: String) throws -> Int {
    try weightFiles(of: path).reduce(0) { total, file in
        total + ((try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
    }
}

/// Bytes of the weight files after zlib deflate (level 6), streamed: a measure of what entropy coding
/// would still save.
public func deflatedBytes(_ path: String) throws -> Int {
    var total = 0
    for file in try weightFiles(of: path) {
        guard let handle = FileHandle(forReadingAtPath: file) else { throw EvaluationError.unreadable(path: file, reason: "cannot open") }
        defer { try? handle.close() }
        var stream = z_stream()
        guard deflateInit_(&stream, 6, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw EvaluationError.unreadable(path: file, reason: "deflateInit failed")
        }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: 1 << 16)
        var finished = false
        while !finished {
            var chunk = [UInt8](handle.readData(ofLength: 1 << 20))
            let flush = chunk.isEmpty ? Z_FINISH : Z_NO_FLUSH
            chunk.withUnsafeMutableBufferPointer { input in
                stream.next_in = input.baseAddress
                stream.avail_in = UInt32(input.count)
                repeat {
                    out.withUnsafeMutableBufferPointer { o in
                        stream.next_out = o.baseAddress
                        stream.avail_out = UInt32(o.count)
                        let code = deflate(&stream, flush)
                        total += o.count - Int(stream.avail_out)
                        if code == Z_STREAM_END { finished = true }
                    }
                } while stream.avail_out == 0 && !finished
            }
        }
    }
    return total
}

/// Milliseconds per unit of `body`, which returns how many units (tokens or examples) it processed.
public func millisecondsPerUnit(_ body: () throws -> Int) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    let units = try body()
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    return units > 0 ? elapsed / Double(units) : 0
}

/// Parameters of the model as trained (not stored elements): a packed 4-bit bitsandbytes weight counts
/// the elements of the shape in its `quant_state` JSON, and quantization side tensors (absmax, quant maps,
/// scales, zero points, int8 row statistics) are not parameters.
public func logicalParameterCount(_ checkpoint: Checkpoint) throws -> Int {
    let sideSuffixes = [".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map", "_scale", "_zero_point", ".SCB", ".weight_format"]
    var total = 0
    for name in checkpoint.names {
        if sideSuffixes.contains(where: name.hasSuffix) || name.contains(".quant_state.") { continue }
        let stateName = checkpoint.names.first { $0.hasPrefix(name + ".quant_state.bitsandbytes__") }
        if let stateName {
            let bytes = try checkpoint.tensor(stateName).bytes
            if let state = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
               let shape = state["shape"] as? [Int] {
                total += shape.reduce(1, *)
                continue
            }
        }
        total += checkpoint.info(name)?.elementCount ?? 0
    }
    return total
}
