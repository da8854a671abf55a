import Foundation

/// The 256-symbol byte model behind `Tokenizer.bytes()`.
final class ByteModel: TokenModel {
    var vocabularySize: Int { 256 }
    func tokenToId(_ token: String) -> Int? { byteTokenValue(token).map(Int.init) }
    func idToToken(_ id: Int) -> String? { id >= 0 && id < 256 ? byteTokenName(UInt8(id)) : nil }
    func tokenize(_ piece: [Unicode.Scalar], cache: WordCache, into ids: inout [Int]) {
        for c in piece { for b in String(c).utf8 { ids.append(Int(b)) } }
    }

    /// `<0xXX>` tokens to bytes, decoded as UTF-8 with U+FFFD for each maximal invalid subsequence.
    struct LossyDecoder: TokenDecoder {
        func decodeChain(_ tokens: [String]) -> [String] {
            [String(decoding: tokens.compactMap(byteTokenValue), as: UTF8.self)]
        }
    }
}
