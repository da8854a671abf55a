import Tensors
/// `count` windows of `seqLen` tokens at seeded random offsets of the stream (the GPTQ-style calibration
/// sampler). The same seed gives the same windows. Throws when the stream is shorter than one window.
public func calibrationSequences(from stream: [Int32], count: Int, seqLen: Int, seed: UInt64,
                                 file: String = "calibration data") throws -> [Example] {
    precondition(count > 0 && seqLen > 0)
    guard stream.count >= seqLen else { throw DatasetError.tooShortForWindow(file: file, tokens: stream.count, seqLen: seqLen) }
    var rng = SeededGenerator(seed: seed)
    let lastStart = stream.count - seqLen
    return (0..<count).map { _ in
        let start = lastStart == 0 ? 0 : Int(rng.next() % UInt64(lastStart + 1))
        return Example(ids: Array(stream[start..<start + seqLen]))
    }
}

extension DataSource {
    /// Calibration examples as the recipe describes them: `samples` windows of `seq_len` tokens, seeded.
    public func calibrationExamples(encoder: TextEncoding?, defaultSamples: Int = 128, defaultSeqLen: Int = 512) throws -> [Example] {
        try calibrationSequences(from: tokenStream(encoder: encoder), count: samples ?? defaultSamples,
                                 seqLen: seqLen ?? defaultSeqLen, seed: seed ?? 0, file: data)
    }
}
