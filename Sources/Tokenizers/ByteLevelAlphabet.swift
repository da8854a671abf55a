/// GPT-2's reversible map from bytes to printable characters (`bytes_to_unicode` in GPT-2's
/// `encoder.py`): printable Latin-1 bytes map to themselves, the other 68 to U+0100… in byte order.
enum ByteLevelAlphabet {
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable { table[b] = Unicode.Scalar(UInt32(b))! } else { table[b] = Unicode.Scalar(next)!; next += 1 }
        }
        return table
    }()

    /// Scalar value → byte, or -1 when the scalar is not in the alphabet.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, s) in byteToScalar.enumerated() { table[Int(s.value)] = Int16(b) }
        return table
    }()

    /// The UTF-8 bytes of `text`, each as its stand-in character.
    static func encode(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        for c in text {
            if c.value < 0x80 { out.append(byteToScalar[Int(c.value)]); continue }
            for b in String(c).utf8 { out.append(byteToScalar[Int(b)]) }
        }
        return out
    }

    /// Bytes of the stand-in characters of `token`; a token with any character outside the alphabet
    /// (an added token, say) contributes its own UTF-8 instead (as tokenizers' ByteLevel decoder).
    static func decode(_ token: String, into bytes: inout [UInt8]) {
        let start = bytes.count
        for c in token.unicodeScalars {
            guard c.value < 324, scalarToByte[Int(c.value)] >= 0 else {
                bytes.removeSubrange(start...)
                bytes.append(contentsOf: token.utf8)
                return
            }
            bytes.append(UInt8(scalarToByte[Int(c.value)]))
        }
    }
}
