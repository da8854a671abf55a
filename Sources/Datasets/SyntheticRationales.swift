import Tensors

// The synthetic multi-step task of ALGORITHMS.md §6.5 (the smallest faithful demo of distilling
// step-by-step): the label is the end of a two-step computation, the rationale spells out the steps.

/// `count` examples of "a b c" (digits) → label p, rationale "a+b=s s*c=p", with s = (a + b) mod 10 and
/// p = (s · c) mod 10, drawn without repetition from the 1 000 inputs with `seed`.
public func syntheticArithmetic(count: Int, seed: UInt64) -> [RationaleExample] {
    precondition((1...1000).contains(count), "syntheticArithmetic: 1…1000 examples")
    var codes = Array(0..<1000)
    var g = SeededGenerator(seed: seed)
    codes.shuffle(using: &g)
    return codes.prefix(count).map { code in
        let a = code / 100, b = code / 10 % 10, c = code % 10
        let s = (a + b) % 10, p = s * c % 10
        return RationaleExample(input: "\(a) \(b) \(c)", label: "\(p)", rationale: "\(a)+\(b)=\(s) \(s)*\(c)=\(p)")
    }
}

/// A character-level tokenizer over a fixed alphabet (ids from `firstID` on; `eos` = `firstID − 1`), for
/// models trained from scratch on synthetic text. Unknown characters are an error.
public struct CharacterCodec: TextDecoding {
    public let alphabet: [Character]
    public let firstID: Int32
    public init(alphabet: String, firstID: Int32 = 3) { self.alphabet = Array(alphabet); self.firstID = firstID }

    public func encodeIDs(_ text: String, addSpecialTokens: Bool) throws -> [Int32] {
        try text.map { ch in
            guard let i = alphabet.firstIndex(of: ch) else {
                throw DatasetError.invalidSource(path: "text", message: "character '\(ch)' is not in the codec's alphabet")
            }
            return Int32(i) + firstID
        }
    }

    public func encodePairIDs(_ first: String, _ second: String) throws -> (ids: [Int32], typeIDs: [Int32]) {
        let ids = try encodeIDs(first + second, addSpecialTokens: false)
        return (ids, [Int32](repeating: 0, count: ids.count))
    }

    public func decodeIDs(_ ids: [Int32]) -> String {
        String(ids.compactMap { id in
            let i = Int(id - firstID)
            return alphabet.indices.contains(i) ? alphabet[i] : nil
        })
    }

    public var endOfSequenceID: Int32? { firstID - 1 }
}
