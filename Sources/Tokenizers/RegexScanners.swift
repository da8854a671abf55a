/// Hand-written scanners for the split patterns of GPT-2 and Llama-3 / Qwen2. They return exactly the
/// matches Oniguruma finds for the patterns below (alternatives tried in order, `(?!\S)` backtracking
/// one whitespace), but run directly over Unicode scalars.
enum KnownPattern {
    /// GPT-2 (`ByteLevel` with `use_regex`).
    static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    /// Llama-3 (digits in groups of up to three).
    static let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Qwen2 (single digits).
    static let qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static func scanner(for pattern: String) -> (([Unicode.Scalar]) -> [Range<Int>])? {
        switch pattern {
        case gpt2: return gpt2Matches
        case llama3: return { llama3Matches($0, maxDigits: 3) }
        case qwen2: return { llama3Matches($0, maxDigits: 1) }
        default: return nil
        }
    }
}

@inline(__always) private func isL(_ c: Unicode.Scalar) -> Bool { UnicodeClass.isLetter(c) }
@inline(__always) private func isN(_ c: Unicode.Scalar) -> Bool { UnicodeClass.isNumber(c) }
@inline(__always) private func isS(_ c: Unicode.Scalar) -> Bool { UnicodeClass.isWhitespace(c) }
@inline(__always) private func isOther(_ c: Unicode.Scalar) -> Bool { !isS(c) && !isL(c) && !isN(c) }
@inline(__always) private func isCRLF(_ c: Unicode.Scalar) -> Bool { c == "\r" || c == "\n" }

/// Length of `'s|'t|'re|'ve|'m|'ll|'d` at `i` (0 when none), optionally case-insensitive.
@inline(__always) private func contractionLength(_ t: [Unicode.Scalar], _ i: Int, caseInsensitive: Bool) -> Int {
    guard t[i] == "'", i + 1 < t.count else { return 0 }
    func lower(_ c: Unicode.Scalar) -> UInt32 {
        caseInsensitive && c.value >= 0x41 && c.value <= 0x5A ? c.value | 0x20 : c.value
    }
    let a = lower(t[i + 1])
    switch a {
    case 0x73, 0x74, 0x6D, 0x64: return 2                     // s t m d
    case 0x72, 0x76:                                          // re ve
        return i + 2 < t.count && lower(t[i + 2]) == 0x65 ? 3 : 0
    case 0x6C:                                                // ll
        return i + 2 < t.count && lower(t[i + 2]) == 0x6C ? 3 : 0
    default: return 0
    }
}

/// `\s+(?!\S)|\s+` at a whitespace position `i`: the whole run when it ends the text or is followed by
/// whitespace-free text only after backing off one (then the run minus its last char, if non-empty).
@inline(__always) private func whitespaceRunEnd(_ t: [Unicode.Scalar], _ i: Int) -> Int {
    var j = i
    while j < t.count && isS(t[j]) { j += 1 }
    if j == t.count || j - i == 1 { return j }
    return j - 1
}

func gpt2Matches(_ t: [Unicode.Scalar]) -> [Range<Int>] {
    var out: [Range<Int>] = []
    out.reserveCapacity(t.count / 4 + 1)
    let n = t.count
    var i = 0
    while i < n {
        let c = t[i]
        let start = i
        let k = contractionLength(t, i, caseInsensitive: false)
        if k > 0 { i += k; out.append(start..<i); continue }
        // ` ?` prefix followed by a letter, number or other run.
        var j = i
        if c == " " && i + 1 < n && !isS(t[i + 1]) { j = i + 1 }
        let d = t[j]
        if j > i || !isS(d) {
            if isL(d) {
                j += 1; while j < n && isL(t[j]) { j += 1 }
            } else if isN(d) {
                j += 1; while j < n && isN(t[j]) { j += 1 }
            } else {
                j += 1; while j < n && isOther(t[j]) { j += 1 }
            }
            out.append(start..<j); i = j; continue
        }
        i = whitespaceRunEnd(t, i)
        out.append(start..<i)
    }
    return out
}

func llama3Matches(_ t: [Unicode.Scalar], maxDigits: Int) -> [Range<Int>] {
    var out: [Range<Int>] = []
    out.reserveCapacity(t.count / 4 + 1)
    let n = t.count
    var i = 0
    while i < n {
        let c = t[i]
        let start = i
        let k = contractionLength(t, i, caseInsensitive: true)
        if k > 0 { i += k; out.append(start..<i); continue }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if isL(c) || (!isCRLF(c) && !isN(c) && i + 1 < n && isL(t[i + 1])) {
            var j = i + 1
            while j < n && isL(t[j]) { j += 1 }
            out.append(start..<j); i = j; continue
        }
        // \p{N}{1,maxDigits}
        if isN(c) {
            var j = i + 1
            while j < n && j - i < maxDigits && isN(t[j]) { j += 1 }
            out.append(start..<j); i = j; continue
        }
        //  ?[^\s\p{L}\p{N}]+[\r\n]*
        var j = i
        if c == " " && i + 1 < n && isOther(t[i + 1]) { j = i + 1 }
        if isOther(t[j]) {
            j += 1
            while j < n && isOther(t[j]) { j += 1 }
            while j < n && isCRLF(t[j]) { j += 1 }
            out.append(start..<j); i = j; continue
        }
        // \s*[\r\n]+ : up to and including the last CR/LF of the whitespace run.
        var runEnd = i
        var lastNewline = -1
        while runEnd < n && isS(t[runEnd]) {
            if isCRLF(t[runEnd]) { lastNewline = runEnd }
            runEnd += 1
        }
        if lastNewline >= 0 { i = lastNewline + 1; out.append(start..<i); continue }
        i = whitespaceRunEnd(t, i)
        out.append(start..<i)
    }
    return out
}
