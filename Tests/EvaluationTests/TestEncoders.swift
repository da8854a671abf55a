import Datasets

/// Text that *is* token ids ("1 436 422"), for generation tests on stories260K (which has no tokenizer).
struct IDTextCodec: TextDecoding {
    func encodeIDs(_ text: String, addSpecialTokens: Bool) throws -> [Int32] { text.split(separator: " ").map { Int32($0)! } }
    func encodePairIDs(_ first: String, _ second: String) throws -> (ids: [Int32], typeIDs: [Int32]) {
        let ids = try encodeIDs(first + " " + second, addSpecialTokens: false)
        return (ids, [Int32](repeating: 0, count: ids.count))
    }
    func decodeIDs(_ ids: [Int32]) -> String { ids.map(String.init).joined(separator: " ") }
    var endOfSequenceID: Int32? { nil }
}
