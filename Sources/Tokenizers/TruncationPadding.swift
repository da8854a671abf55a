import Foundation

/// Cutting encodings to a maximum length (tokenizers' `TruncationParams`; overflow is dropped).
public struct Truncation: Equatable, Sendable {
    public enum Strategy: String, Sendable { case longestFirst = "LongestFirst", onlyFirst = "OnlyFirst", onlySecond = "OnlySecond" }
    public enum Direction: String, Sendable { case right = "Right", left = "Left" }
    public var maxLength: Int
    public var strategy: Strategy
    public var direction: Direction

    public init(maxLength: Int, strategy: Strategy = .longestFirst, direction: Direction = .right) {
        self.maxLength = maxLength; self.strategy = strategy; self.direction = direction
    }

    init(_ node: JSONNode) throws {
        maxLength = try node.required("max_length").int()
        let s = try node.string("strategy", default: "LongestFirst")
        guard let strategy = Strategy(rawValue: s) else {
            throw TokenizerError.unsupportedComponent(kind: "truncation strategy", type: s, path: node.path + ".strategy",
                                                      supported: ["LongestFirst", "OnlyFirst", "OnlySecond"])
        }
        let d = try node.string("direction", default: "Right")
        guard let direction = Direction(rawValue: d) else {
            throw TokenizerError.unsupportedComponent(kind: "truncation direction", type: d, path: node.path + ".direction",
                                                      supported: ["Right", "Left"])
        }
        self.strategy = strategy; self.direction = direction
    }

    private func cut(_ ids: [Int], to n: Int) -> [Int] {
        guard ids.count > n else { return ids }
        return direction == .right ? Array(ids.prefix(n)) : Array(ids.suffix(n))
    }

    /// Truncates the model outputs of A and B so that with `added` special tokens they fit.
    func apply(_ a: [Int], _ b: [Int]?, added: Int) -> ([Int], [Int]?) {
        let limit = max(0, maxLength - added)
        let total = a.count + (b?.count ?? 0)
        guard total > limit else { return (a, b) }
        guard let b else { return (cut(a, to: limit), nil) }
        switch strategy {
        case .longestFirst:
            // tokenizers `truncate_encodings`: give the shorter one what it needs, split evenly otherwise.
            let swapped = a.count > b.count
            var n1 = min(a.count, b.count), n2 = max(a.count, b.count)
            n2 = n1 > limit ? n1 : max(n1, limit - n1)
            if n1 + n2 > limit { n1 = limit / 2; n2 = n1 + limit % 2 }
            if swapped { Swift.swap(&n1, &n2) }
            return (cut(a, to: n1), cut(b, to: n2))
        case .onlyFirst:
            let remove = total - limit
            return (cut(a, to: max(0, a.count - remove)), b)
        case .onlySecond:
            let remove = total - limit
            return (a, cut(b, to: max(0, b.count - remove)))
        }
    }
}

/// Padding a batch (tokenizers' `PaddingParams`).
public struct Padding: Equatable, Sendable {
    public enum Strategy: Equatable, Sendable { case batchLongest, fixed(Int) }
    public enum Direction: String, Sendable { case right = "Right", left = "Left" }
    public var strategy: Strategy
    public var direction: Direction
    public var padToMultipleOf: Int?
    public var padId: Int
    public var padTypeId: Int

    public init(strategy: Strategy = .batchLongest, direction: Direction = .right, padToMultipleOf: Int? = nil,
                padId: Int = 0, padTypeId: Int = 0) {
        self.strategy = strategy; self.direction = direction; self.padToMultipleOf = padToMultipleOf
        self.padId = padId; self.padTypeId = padTypeId
    }

    init(_ node: JSONNode) throws {
        let s = try node.required("strategy")
        if let fixed = s["Fixed"] { strategy = .fixed(try fixed.int()) }
        else if (try? s.string()) == "BatchLongest" { strategy = .batchLongest }
        else { throw s.fail("expected \"BatchLongest\" or {\"Fixed\": n}") }
        let d = try node.string("direction", default: "Right")
        guard let direction = Direction(rawValue: d) else { throw node.fail("padding direction must be Right or Left") }
        self.direction = direction
        padToMultipleOf = try node["pad_to_multiple_of"]?.int()
        padId = try node.int("pad_id", default: 0)
        padTypeId = try node.int("pad_type_id", default: 0)
    }

    /// Pads every encoding to the batch's target length.
    func apply(_ batch: inout [Encoding]) {
        var target: Int
        switch strategy {
        case .batchLongest: target = batch.map(\.ids.count).max() ?? 0
        case .fixed(let n): target = n
        }
        if let m = padToMultipleOf, m > 0, target % m != 0 { target += m - target % m }
        for i in batch.indices where batch[i].ids.count < target {
            let n = target - batch[i].ids.count
            let ids = [Int](repeating: padId, count: n), types = [Int](repeating: padTypeId, count: n)
            let zeros = [Int](repeating: 0, count: n), ones = [Int](repeating: 1, count: n)
            if direction == .right {
                batch[i].ids += ids; batch[i].typeIds += types; batch[i].attentionMask += zeros
                batch[i].specialTokensMask += ones
            } else {
                batch[i].ids = ids + batch[i].ids; batch[i].typeIds = types + batch[i].typeIds
                batch[i].attentionMask = zeros + batch[i].attentionMask
                batch[i].specialTokensMask = ones + batch[i].specialTokensMask
            }
        }
    }
}
