import Tokenizers

/// The project's tokenizer is the text encoder evaluation uses.
extension Tokenizer: TextEncoding {
    public func encodeIDs(_ text: String, addSpecialTokens: Bool) throws -> [Int32] {
        encode(text, addSpecialTokens: addSpecialTokens).map { Int32($0) }
    }

    public func encodePairIDs(_ first: String, _ second: String) throws -> (ids: [Int32], typeIDs: [Int32]) {
        let e = encodePair(first, second)
        return (e.ids.map { Int32($0) }, e.typeIds.map { Int32($0) })
    }
}
