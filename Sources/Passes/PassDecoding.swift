import Foundation

// How every pass decodes its recipe keys, written once: a pass starts from `Self()` (its defaults are
// its property initialisers), rejects keys its `CodingKeys` do not declare (llm-compressor style
// strictness), and overwrites each default with the key's value when the recipe gives one:
//
//     public init(from decoder: Decoder) throws {
//         self.init()
//         let c = try decoder.passKeys(CodingKeys.self)
//         try c.update(&blockSize, .blockSize)
//     }

struct AnyPassKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// The container of a pass's recipe keys. Any key outside `Keys` (and `pass`, the registry's name) is an
    /// error naming it and the allowed keys in declaration order.
    /// `alsoAllowing` names keys another decoder of the same object reads (shared training keys).
    func passKeys<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type, alsoAllowing shared: [String] = []) throws -> KeyedDecodingContainer<Keys> {
        let allowed = ["pass"] + Keys.allCases.map(\.stringValue) + shared
        let unknown = try container(keyedBy: AnyPassKey.self).allKeys.map(\.stringValue).filter { !allowed.contains($0) }.sorted()
        if let first = unknown.first {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [AnyPassKey(stringValue: first)],
                debugDescription: "unknown key '\(first)'; allowed: \(allowed.joined(separator: ", "))"))
        }
        return try container(keyedBy: Keys.self)
    }
}

extension KeyedDecodingContainer {
    /// Overwrites the default `value` when the key is present and not null.
    func update<T: Decodable>(_ value: inout T, _ key: Key) throws {
        if let decoded = try decodeIfPresent(T.self, forKey: key) { value = decoded }
    }

    /// An optional key: present overwrites the default, and an explicit null clears it (`"max_grad_norm": null`).
    func update<T: Decodable>(_ value: inout T?, _ key: Key) throws {
        if contains(key) { value = try decodeIfPresent(T.self, forKey: key) }
    }
}
