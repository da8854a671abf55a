import Foundation

/// Character classes as the `tokenizers` library (Rust `char` methods, Oniguruma `\p{…}`/`\s`) defines them.
enum UnicodeClass {
    /// `\p{L}`: Lu, Ll, Lt, Lm, Lo.
    @inline(__always) static func isLetter(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 { return (v | 0x20) >= 0x61 && (v | 0x20) <= 0x7A }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// `\p{N}` and Rust `char::is_numeric`: Nd, Nl, No.
    @inline(__always) static func isNumber(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 { return v >= 0x30 && v <= 0x39 }
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// `\s` (Oniguruma, Unicode) and Rust `char::is_whitespace`: the White_Space property.
    @inline(__always) static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) }
        return c.properties.isWhitespace
    }

    /// General category Mark (Mn, Mc, Me), as `unicode_normalization::char::is_combining_mark`.
    static func isMark(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x300 { return false }
        switch c.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    static func isNonspacingMark(_ c: Unicode.Scalar) -> Bool {
        c.value >= 0x300 && c.properties.generalCategory == .nonspacingMark
    }

    /// Unicode punctuation (P*).
    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// ASCII punctuation or Unicode punctuation (BERT's and the Punctuation pre-tokenizer's `is_punc`).
    static func isBertPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 { return (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126) }
        return isPunctuation(c)
    }

    /// BERT's `is_control`: category Other (Cc, Cf, Cn, Co, Cs) except tab, newline and carriage return.
    static func isBertControl(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v == 0x09 || v == 0x0A || v == 0x0D { return false }
        if v < 0x80 { return v < 0x20 || v == 0x7F }
        switch c.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// The CJK Unified Ideograph blocks BERT pads with spaces.
    static func isChineseChar(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }

    /// `\w` (Oniguruma and Rust regex, Unicode TR18): Alphabetic, Mark, Decimal_Number,
    /// Connector_Punctuation, Join_Control.
    static func isWordChar(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 { return isLetter(c) || isNumber(c) || v == 0x5F }
        let p = c.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }
}

/// Scalar arrays ↔ strings.
extension String {
    init<S: Sequence>(scalars: S) where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        self = String(view)
    }
}

/// Unicode normalization forms through Foundation.
enum UnicodeForm {
    case nfc, nfd, nfkc, nfkd

    func apply(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if text.allSatisfy({ $0.value < 0x80 }) { return text }   // ASCII is invariant under every form
        let s = String(scalars: text)
        let out: String
        switch self {
        case .nfc: out = s.precomposedStringWithCanonicalMapping
        case .nfd: out = s.decomposedStringWithCanonicalMapping
        case .nfkc: out = s.precomposedStringWithCompatibilityMapping
        case .nfkd: out = s.decomposedStringWithCompatibilityMapping
        }
        return Array(out.unicodeScalars)
    }
}
