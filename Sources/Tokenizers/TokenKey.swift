import Foundation

/// A vocabulary key compared and hashed by its UTF-8 bytes. Swift `String` equality is canonical
/// equivalence ("é" == "e\u{301}") and hashing non-ASCII text normalizes it; tokenizers compares bytes.
struct TokenKey: Hashable {
    let string: String

    init(_ s: String) {
        var s = s
        s.makeContiguousUTF8()
        string = s
    }

    static func == (a: TokenKey, b: TokenKey) -> Bool {
        var a = a.string, b = b.string
        return a.withUTF8 { x in b.withUTF8 { y in x.count == y.count && (x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0) } }
    }

    func hash(into hasher: inout Hasher) {
        var s = string
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

typealias Vocabulary = [TokenKey: Int]

extension Dictionary where Key == TokenKey {
    @inline(__always) subscript(token token: String) -> Value? { self[TokenKey(token)] }
}

/// Byte-exact string helpers (Swift's `hasPrefix`/`replacingOccurrences` work on grapheme clusters:
/// "##" is not a prefix of "##ि" for them).
extension String {
    func hasBytePrefix(_ p: String) -> Bool { utf8.starts(with: p.utf8) }

    func droppingBytePrefix(_ p: String) -> String {
        String(decoding: utf8.dropFirst(p.utf8.count), as: UTF8.self)
    }

    func replacingBytes(_ target: String, with replacement: String) -> String {
        let t = Array(target.utf8)
        guard !t.isEmpty else { return self }
        let s = Array(utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        var changed = false
        while i < s.count {
            if s[i] == t[0] && i + t.count <= s.count && s[i..<(i + t.count)].elementsEqual(t) {
                out.append(contentsOf: replacement.utf8); i += t.count; changed = true
            } else { out.append(s[i]); i += 1 }
        }
        return changed ? String(decoding: out, as: UTF8.self) : self
    }
}
