import Foundation

/// Everything that can go wrong loading a tokenizer or encoding text. Each case names what the
/// user needs to fix it: the file, the JSON path, the component and what is supported.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// A file could not be read.
    case unreadableFile(path: String, reason: String)
    /// A folder holds neither `tokenizer.json` nor `vocab.txt`.
    case noTokenizerFiles(folder: String)
    /// `tokenizer.json` is not valid JSON or a value has the wrong shape, at `path` (e.g. `model.merges[12]`).
    case malformedJSON(file: String, path: String, problem: String)
    /// A component `type` we do not implement, with the ones we do.
    case unsupportedComponent(kind: String, type: String, path: String, supported: [String])
    /// A token the configuration refers to is missing from the vocabulary.
    case unknownToken(token: String, path: String)
    /// Input bytes that are not UTF-8, with the byte offset of the first bad byte (and the line, when known).
    case invalidUTF8(offset: Int, line: Int?)
    /// A regular expression in the file that cannot be compiled.
    case badPattern(pattern: String, path: String, reason: String)
    /// Truncation cannot fit the special tokens into `maxLength`.
    case truncationTooShort(maxLength: Int, needed: Int)
    /// An id outside the vocabulary.
    case idOutOfRange(id: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason): return "cannot read \(path): \(reason)"
        case let .noTokenizerFiles(folder):
            return "\(folder): no tokenizer.json or vocab.txt (a byte-level model can use Tokenizer.bytes())"
        case let .malformedJSON(file, path, problem): return "\(file): \(path.isEmpty ? "<root>" : path): \(problem)"
        case let .unsupportedComponent(kind, type, path, supported):
            return "\(path): unsupported \(kind) type \"\(type)\" (supported: \(supported.joined(separator: ", ")))"
        case let .unknownToken(token, path): return "\(path): token \"\(token)\" is not in the vocabulary"
        case let .invalidUTF8(offset, line):
            return "input is not valid UTF-8: bad byte at offset \(offset)" + (line.map { " of line \($0)" } ?? "")
        case let .badPattern(pattern, path, reason): return "\(path): cannot compile pattern \(pattern): \(reason)"
        case let .truncationTooShort(maxLength, needed):
            return "truncation max_length \(maxLength) cannot hold the \(needed) special tokens"
        case let .idOutOfRange(id, size): return "token id \(id) is outside the vocabulary (size \(size))"
        }
    }
}
