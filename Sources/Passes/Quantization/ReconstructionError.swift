import Foundation
import Tensors
import Checkpoints
import Kernels

/// ‖a − b‖ / ‖a‖ in Double (0 for an all-zero reference).
public func relativeError(_ reference: [Float], _ approximation: [Float]) -> Double {
    var num = 0.0, den = 0.0
    for i in reference.indices {
        let d = Double(reference[i]) - Double(approximation[i])
        num += d * d
        den += Double(reference[i]) * Double(reference[i])
    }
    return den == 0 ? (num == 0 ? 0 : .infinity) : (num / den).squareRoot()
}


/// The same against a stored tensor, converting in chunks instead of copying it whole.
public func relativeError(_ reference: Tensor, _ approximation: [Float]) -> Double {
    precondition(reference.elementCount == approximation.count)
    let chunk = 1 << 16, size = reference.dtype.byteSize
    var num = 0.0, den = 0.0
    var buffer = [Float](repeating: 0, count: chunk)
    for start in stride(from: 0, to: approximation.count, by: chunk) {
        let count = min(chunk, approximation.count - start)
        buffer.withUnsafeMutableBufferPointer { b in
            DTypeConversion.load(UnsafeRawBufferPointer(rebasing: reference.bytes[(start * size)..<((start + count) * size)]),
                                 as: reference.dtype, into: UnsafeMutableBufferPointer(rebasing: b[0..<count]))
        }
        for i in 0..<count {
            let r = Double(buffer[i]), d = r - Double(approximation[start + i])
            num += d * d; den += r * r
        }
    }
    return den == 0 ? (num == 0 ? 0 : .infinity) : (num / den).squareRoot()
}

/// Drops the memory-mapped pages of an unchanged source tensor once it has been read, so a pass
/// over a large checkpoint keeps one tensor resident, not the whole file (a read-only mapping: the
/// pages are simply read again if needed).
func releasePages(of name: String, in model: EditableCheckpoint) { releasePages(of: name, in: model.source) }

func releasePages(of name: String, in source: TensorStore) {
    guard let checkpoint = source as? Checkpoint, let info = checkpoint.info(name) else { return }
    checkpoint.file(of: name)?.release(info)
}

/// ‖W − Ŵ‖ / ‖W‖ for per-row int8 codes (Ŵ = q · scale of its row), reading W in chunks of rows
/// instead of materialising either in Float32.
func int8RelativeError(_ reference: Tensor, q: [Int8], scale: [Float]) -> Double {
    let rows = reference.shape[0], cols = reference.elementCount / max(rows, 1), size = reference.dtype.byteSize
    let rowsPerChunk = max(1, (1 << 16) / max(cols, 1))
    var num = 0.0, den = 0.0
    var buffer = [Float](repeating: 0, count: rowsPerChunk * cols)
    for first in stride(from: 0, to: rows, by: rowsPerChunk) {
        let count = min(rowsPerChunk, rows - first)
        buffer.withUnsafeMutableBufferPointer { b in
            DTypeConversion.load(UnsafeRawBufferPointer(rebasing: reference.bytes[(first * cols * size)..<((first + count) * cols * size)]),
                                 as: reference.dtype, into: UnsafeMutableBufferPointer(rebasing: b[0..<(count * cols)]))
        }
        buffer.withUnsafeBufferPointer { b in
            q.withUnsafeBufferPointer { codes in
                for r in 0..<count {
                    let (n, d) = int8SquaredError(x: b.baseAddress! + r * cols, q: codes.baseAddress! + (first + r) * cols,
                                                  scale: scale[first + r], count: cols)
                    num += n; den += d
                }
            }
        }
    }
    return den == 0 ? (num == 0 ? 0 : .infinity) : (num / den).squareRoot()
}

/// Each weight's reconstruction error, recorded by the lazy producer that quantized it.
final class ErrorLedger: @unchecked Sendable {
    private var errors: [String: Double] = [:]
    private let lock = NSLock()

    func record(_ name: String, _ error: Double) { lock.lock(); errors[name] = error; lock.unlock() }
    func error(_ name: String) -> Double? { lock.lock(); defer { lock.unlock() }; return errors[name] }
}
