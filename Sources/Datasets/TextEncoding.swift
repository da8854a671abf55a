/// What reading examples needs from a tokenizer. `Tokenizers.Tokenizer` conforms (TokenizerConformance.swift);
/// tests may use any encoder.
public protocol TextEncoding {
    /// Ids of `text`, with the special tokens of the tokenizer's post-processor when `addSpecialTokens`.
    func encodeIDs(_ text: String, addSpecialTokens: Bool) throws -> [Int32]
    /// A sentence pair with special tokens, and its token type ids (BERT segment ids).
    func encodePairIDs(_ first: String, _ second: String) throws -> (ids: [Int32], typeIDs: [Int32])
}

/// What generation tasks need besides encoding: turning ids back into text, and the end token.
public protocol TextDecoding: TextEncoding {
    func decodeIDs(_ ids: [Int32]) -> String
    var endOfSequenceID: Int32? { get }
}
