import Tensors
import Checkpoints

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
func releasePages(of name: String, in model: EditableCheckpoint) {
    guard let checkpoint = model.source as? Checkpoint, let info = checkpoint.info(name) else { return }
    checkpoint.file(of: name)?.release(info)
}
