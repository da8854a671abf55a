import Foundation

/// What `compress tokenize` prints (DESIGN.md §5): the ids of every input line, one line each — a JSON
/// array (`[101,7592,102]`) or space-separated ids (the `token_ids` data format).
public enum LineTokenization {
    /// Splits UTF-8 bytes into lines (LF, with a CR before it dropped; a final newline ends the last
    /// line rather than starting an empty one; empty input is one empty line). Invalid UTF-8 throws
    /// `invalidUTF8` naming the 1-based line and the byte offset within it.
    public static func lines(of data: [UInt8]) throws -> [String] {
        var out: [String] = []
        var start = 0
        var lineNumber = 1
        func take(_ end: Int) throws {
            var stop = end
            if stop > start && data[stop - 1] == 0x0D { stop -= 1 }
            out.append(try Tokenizer.validatedString(Array(data[start..<stop]), line: lineNumber))
            lineNumber += 1
        }
        for (i, b) in data.enumerated() where b == 0x0A {
            try take(i)
            start = i + 1
        }
        if start < data.count || out.isEmpty { try take(data.count) }
        return out
    }

    /// One output line per input line.
    public static func render(_ tokenizer: Tokenizer, lines: [String], addSpecialTokens: Bool, json: Bool) -> String {
        var out = ""
        out.reserveCapacity(lines.count * 64)
        for line in lines {
            let ids = tokenizer.encode(line, addSpecialTokens: addSpecialTokens)
            let body = ids.map(String.init).joined(separator: json ? "," : " ")
            out += json ? "[" + body + "]\n" : body + "\n"
        }
        return out
    }
}
