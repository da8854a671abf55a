import Datasets

/// A stand-in tokenizer for reader tests: one id per whitespace-separated word (its length), with
/// 101/102 as [CLS]/[SEP] when special tokens are added.
struct WordLengthEncoder: TextEncoding {
    func encodeIDs(_ text: String, addSpecialTokens: Bool) throws -> [Int32] {
        let words = text.split(whereSeparator: \.isWhitespace).map { Int32($0.count) }
        return addSpecialTokens ? [101] + words + [102] : words
    }
    func encodePairIDs(_ first: String, _ second: String) throws -> (ids: [Int32], typeIDs: [Int32]) {
        let a = try encodeIDs(first, addSpecialTokens: true), b = try encodeIDs(second, addSpecialTokens: false) + [102]
        return (a + b, [Int32](repeating: 0, count: a.count) + [Int32](repeating: 1, count: b.count))
    }
}
