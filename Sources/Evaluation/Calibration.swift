/// SplitMix64: a small seeded generator whose sequence is the same on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `count` windows of `seqLen` tokens at seeded random offsets of the stream (the GPTQ-style calibration
/// sampler). The same seed gives the same windows. Throws when the stream is shorter than one window.
public func calibrationSequences(from stream: [Int32], count: Int, seqLen: Int, seed: UInt64,
                                 file: String = "calibration data") throws -> [Example] {
    precondition(count > 0 && seqLen > 0)
    guard stream.count >= seqLen else { throw EvaluationError.tooShortForWindow(file: file, tokens: stream.count, seqLen: seqLen) }
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
