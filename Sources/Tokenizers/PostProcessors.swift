import Foundation

/// Ids and type ids of one sequence during post-processing; `special` marks tokens the processor added.
struct PartialEncoding {
    var ids: [Int]
    var typeIds: [Int]
    var special: [Bool]

    init(ids: [Int], typeId: Int) {
        self.ids = ids
        typeIds = [Int](repeating: typeId, count: ids.count)
        special = [Bool](repeating: false, count: ids.count)
    }

    mutating func append(_ other: PartialEncoding) {
        ids += other.ids; typeIds += other.typeIds; special += other.special
    }

    mutating func appendSpecial(_ ids: [Int], typeId: Int) {
        self.ids += ids
        typeIds += [Int](repeating: typeId, count: ids.count)
        special += [Bool](repeating: true, count: ids.count)
    }
}

/// Adds special tokens and type ids around one or two sequences (tokenizers' `processors`).
protocol PostProcessor {
    func addedTokens(isPair: Bool) -> Int
    func process(_ a: PartialEncoding, _ b: PartialEncoding?, addSpecialTokens: Bool) -> PartialEncoding
}

/// No processor: concatenate A (type 0) and B (type 1).
func defaultProcess(_ a: PartialEncoding, _ b: PartialEncoding?) -> PartialEncoding {
    var out = a
    if let b { out.append(b) }
    return out
}

/// `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` with type ids 0…0 1…1.
struct BertProcessing: PostProcessor {
    let cls: Int, sep: Int
    func addedTokens(isPair: Bool) -> Int { isPair ? 3 : 2 }
    func process(_ a: PartialEncoding, _ b: PartialEncoding?, addSpecialTokens: Bool) -> PartialEncoding {
        guard addSpecialTokens else { return defaultProcess(a, b) }
        var out = PartialEncoding(ids: [], typeId: 0)
        out.appendSpecial([cls], typeId: 0)
        out.append(retyped(a, 0))
        out.appendSpecial([sep], typeId: 0)
        if let b {
            out.append(retyped(b, 1))
            out.appendSpecial([sep], typeId: 1)
        }
        return out
    }
}

/// `<s> A </s>` / `<s> A </s></s> B </s>`, all type ids 0.
struct RobertaProcessing: PostProcessor {
    let cls: Int, sep: Int
    func addedTokens(isPair: Bool) -> Int { isPair ? 4 : 2 }
    func process(_ a: PartialEncoding, _ b: PartialEncoding?, addSpecialTokens: Bool) -> PartialEncoding {
        guard addSpecialTokens else {
            var out = retyped(a, 0)
            if let b { out.append(retyped(b, 0)) }
            return out
        }
        var out = PartialEncoding(ids: [], typeId: 0)
        out.appendSpecial([cls], typeId: 0)
        out.append(retyped(a, 0))
        out.appendSpecial([sep], typeId: 0)
        if let b {
            out.appendSpecial([sep], typeId: 0)
            out.append(retyped(b, 0))
            out.appendSpecial([sep], typeId: 0)
        }
        return out
    }
}

private func retyped(_ e: PartialEncoding, _ typeId: Int) -> PartialEncoding {
    var e = e
    e.typeIds = [Int](repeating: typeId, count: e.ids.count)
    return e
}

/// `TemplateProcessing`: sequences `$A`/`$B` and special tokens, each with a type id.
struct TemplateProcessing: PostProcessor {
    enum Item { case sequence(isA: Bool, typeId: Int), special(ids: [Int], typeId: Int) }
    let single: [Item], pair: [Item]

    func addedTokens(isPair: Bool) -> Int {
        (isPair ? pair : single).reduce(0) { n, item in
            if case .special(let ids, _) = item { return n + ids.count }
            return n
        }
    }

    func process(_ a: PartialEncoding, _ b: PartialEncoding?, addSpecialTokens: Bool) -> PartialEncoding {
        var out = PartialEncoding(ids: [], typeId: 0)
        for item in b == nil ? single : pair {
            switch item {
            case let .sequence(isA, typeId):
                if let seq = isA ? a : b { out.append(retyped(seq, typeId)) }
            case let .special(ids, typeId):
                if addSpecialTokens { out.appendSpecial(ids, typeId: typeId) }
            }
        }
        return out
    }

    init(_ node: JSONNode) throws {
        var specials: [String: [Int]] = [:]
        if let st = node["special_tokens"] {
            for (key, value) in try st.object() {
                specials[key] = try value.required("ids").array().map { try $0.int() }
            }
        }
        func items(_ key: String) throws -> [Item] {
            try node.required(key).array().map { item in
                if let s = item["Sequence"] {
                    let id = try s.required("id").string()
                    guard id == "A" || id == "B" else { throw s.fail("sequence id must be A or B, found \(id)") }
                    return .sequence(isA: id == "A", typeId: try s.int("type_id", default: 0))
                }
                if let s = item["SpecialToken"] {
                    let name = try s.required("id").string()
                    guard let ids = specials[name] else {
                        throw s.fail("special token \(name) is not listed in special_tokens")
                    }
                    return .special(ids: ids, typeId: try s.int("type_id", default: 0))
                }
                throw item.fail("expected {\"Sequence\": …} or {\"SpecialToken\": …}")
            }
        }
        single = try items("single")
        pair = try items("pair")
    }
}

/// Runs processors in order (special tokens only come from template-like steps).
struct PostProcessorSequence: PostProcessor {
    let steps: [PostProcessor]
    func addedTokens(isPair: Bool) -> Int { steps.reduce(0) { $0 + $1.addedTokens(isPair: isPair) } }
    func process(_ a: PartialEncoding, _ b: PartialEncoding?, addSpecialTokens: Bool) -> PartialEncoding {
        var first = a, second = b
        var merged: PartialEncoding?
        for step in steps {
            if let m = merged { merged = step.process(m, nil, addSpecialTokens: addSpecialTokens) }
            else if step is ByteLevelProcessing { continue }
            else { merged = step.process(first, second, addSpecialTokens: addSpecialTokens); first = merged!; second = nil }
        }
        return merged ?? defaultProcess(first, second)
    }
}

/// ByteLevel post-processing only trims offsets; ids are unchanged.
struct ByteLevelProcessing: PostProcessor {
    func addedTokens(isPair: Bool) -> Int { 0 }
    func process(_ a: PartialEncoding, _ b: PartialEncoding?, addSpecialTokens: Bool) -> PartialEncoding { defaultProcess(a, b) }
}

enum PostProcessorFactory {
    static let supported = ["TemplateProcessing", "BertProcessing", "RobertaProcessing", "ByteLevel", "Sequence"]

    static func make(_ node: JSONNode) throws -> PostProcessor {
        let type = try node.type()
        func tokenId(_ key: String) throws -> Int {
            let pair = try node.required(key).array()
            guard pair.count == 2 else { throw node.fail("\(key) must be [token, id]") }
            return try pair[1].int()
        }
        switch type {
        case "TemplateProcessing": return try TemplateProcessing(node)
        case "BertProcessing": return BertProcessing(cls: try tokenId("cls"), sep: try tokenId("sep"))
        case "RobertaProcessing": return RobertaProcessing(cls: try tokenId("cls"), sep: try tokenId("sep"))
        case "ByteLevel": return ByteLevelProcessing()
        case "Sequence": return PostProcessorSequence(steps: try node.required("processors").array().map(make))
        default:
            throw TokenizerError.unsupportedComponent(kind: "post_processor", type: type, path: node.path, supported: supported)
        }
    }
}
