import Tokenizers

extension Tokenizer: TextDecoding {
    public func encodeIDs(_ text: String, addSpecialTokens: Bool) throws -> [Int32] {
        encode(text, addSpecialTokens: addSpecialTokens).map(Int32.init)
    }

    public func encodePairIDs(_ first: String, _ second: String) throws -> (ids: [Int32], typeIDs: [Int32]) {
        let e = encodePair(first, second)
        return (e.ids.map(Int32.init), e.typeIds.map(Int32.init))
    }

    public func decodeIDs(_ ids: [Int32]) -> String { decode(ids.map(Int.init)) }
    public var endOfSequenceID: Int32? { eosTokenId.map(Int32.init) }

    /// The model folder's tokenizer set up as transformers' `tokenizer(text)` call uses it: no truncation and
    /// no padding (tokenizer.json may configure both; transformers ignores them unless asked).
    public static func forEvaluation(folder: String) throws -> Tokenizer {
        let t = try Tokenizer.load(folder: folder)
        t.truncation = nil
        t.padding = nil
        return t
    }
}
