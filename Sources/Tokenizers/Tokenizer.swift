// Tokenizers module: text ↔ token ids exactly as the Hugging Face `tokenizers` library computes them.
//
// Public API (stable for other modules):
//   Tokenizer.load(folder:)                  tokenizer.json, else vocab.txt (BERT WordPiece)
//   Tokenizer(jsonFile:) / Tokenizer(jsonData:source:) / Tokenizer.bert(vocabFile:lowercase:)
//   Tokenizer.bytes()                        built-in 256-symbol byte tokenizer (id = UTF-8 byte)
//   encode(_:addSpecialTokens:) -> [Int]     like `tokenizers.Tokenizer.encode(text).ids`
//   encoding(_:pair:addSpecialTokens:) -> Encoding   ids, typeIds, attentionMask, specialTokensMask
//   encodePair(_:_:addSpecialTokens:) -> Encoding    BERT sentence pairs with token type ids
//   encodeBatch(_:addSpecialTokens:threads:) / encodeBatch(pairs:…) -> [Encoding]  (truncation + padding)
//   encode(utf8:addSpecialTokens:) throws    raw bytes; invalid UTF-8 → TokenizerError.invalidUTF8
//   decode(_:skipSpecialTokens:) -> String   like `tokenizers.Tokenizer.decode(ids)`
//   vocabularySize, tokenToId(_:), idToToken(_:), addedTokens
//   padTokenId, clsTokenId, sepTokenId, bosTokenId, eosTokenId, unkTokenId
//   truncation: Truncation?, padding: Padding?   (initialised from tokenizer.json; settable —
//                                            minilm's file truncates at 128, as `tokenizers` does)
//   LineTokenization.lines(of:) / .render(…)  what `compress tokenize` prints
//   Errors: TokenizerError (unsupportedComponent, malformedJSON with the JSON path, invalidUTF8, …)
//
// Components: normalizers BertNormalizer, Lowercase, NFC/NFD/NFKC/NFKD, StripAccents, Strip, Replace,
// Prepend, Sequence; pre-tokenizers ByteLevel (GPT-2 split), Split (GPT-2 / Llama-3 / Qwen2 patterns
// by hand-written scanners, others via NSRegularExpression), Metaspace, BertPreTokenizer, Whitespace,
// WhitespaceSplit, Digits, Punctuation, CharDelimiterSplit, Sequence; models BPE (byte_fallback,
// ignore_merges, prefix/suffix), WordPiece, WordLevel, Unigram; post-processors TemplateProcessing,
// BertProcessing, RobertaProcessing, ByteLevel, Sequence; decoders ByteLevel, WordPiece, Metaspace,
// ByteFallback, Fuse, Strip, Replace, BPEDecoder, Sequence. Not supported (typed error): Precompiled
// normalizer, UnicodeScripts pre-tokenizer, CTC decoder, BPE dropout.
//
// Pipeline (tokenizers `TokenizerImpl::encode_single_sequence`): split off added tokens that are
// not normalized → normalize the rest → split off normalized added tokens → pre-tokenize →
// model (BPE / WordPiece / Unigram) → truncate → post-process (special tokens, type ids) → pad.
import Foundation

/// The ids of one encoded input, with the masks a model needs.
public struct Encoding: Equatable, Sendable {
    public var ids: [Int]
    public var typeIds: [Int]
    public var attentionMask: [Int]
    /// 1 for tokens added by the post-processor or padding.
    public var specialTokensMask: [Int]
}

public final class Tokenizer: @unchecked Sendable {
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: TokenModel
    let postProcessor: PostProcessor?
    let decoder: TokenDecoder?
    public let addedTokens: [AddedToken]
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher
    private let addedById: [Int: AddedToken]
    private let addedByContent: [String: Int]

    /// Truncation and padding applied by `encode…` (as the `tokenizers` library does with the file's
    /// settings). Set them before sharing the tokenizer across threads; encoding itself is thread-safe
    /// (`encode` serializes on one word cache; `encodeBatch` runs workers with their own caches).
    public var truncation: Truncation?
    public var padding: Padding?

    public private(set) var padTokenId: Int?
    public private(set) var clsTokenId: Int?
    public private(set) var sepTokenId: Int?
    public private(set) var bosTokenId: Int?
    public private(set) var eosTokenId: Int?
    public private(set) var unkTokenId: Int?

    private let sharedCache = WordCache()
    private let cacheLock = NSLock()

    init(normalizer: Normalizer?, preTokenizer: PreTokenizer?, model: TokenModel, postProcessor: PostProcessor?,
         decoder: TokenDecoder?, addedTokens: [AddedToken], truncation: Truncation?, padding: Padding?) {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.addedTokens = addedTokens
        rawMatcher = AddedTokenMatcher(addedTokens.filter { !$0.normalized }, normalizer: nil)
        normalizedMatcher = AddedTokenMatcher(addedTokens.filter { $0.normalized }, normalizer: normalizer)
        addedById = Dictionary(addedTokens.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        addedByContent = Dictionary(addedTokens.map { ($0.content, $0.id) }, uniquingKeysWith: { a, _ in a })
        self.truncation = truncation
        self.padding = padding
        guessSpecialTokens()
    }

    // MARK: Loading

    /// A checkpoint folder: `tokenizer.json`, else `vocab.txt` (BERT WordPiece, uncased unless
    /// `tokenizer_config.json` says `do_lower_case: false`). Special token names from
    /// `tokenizer_config.json` / `special_tokens_map.json` refine the special token ids.
    public static func load(folder: String) throws -> Tokenizer {
        let fm = FileManager.default
        let json = folder + "/tokenizer.json", vocab = folder + "/vocab.txt"
        let tokenizer: Tokenizer
        if fm.fileExists(atPath: json) {
            tokenizer = try Tokenizer(jsonFile: json)
        } else if fm.fileExists(atPath: vocab) {
            let config = (try? Data(contentsOf: URL(fileURLWithPath: folder + "/tokenizer_config.json")))
                .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            let lower = config?["do_lower_case"] as? Bool ?? true
            tokenizer = try bert(vocabFile: vocab, lowercase: lower)
        } else {
            throw TokenizerError.noTokenizerFiles(folder: folder)
        }
        tokenizer.applySpecialTokenNames(folder: folder)
        return tokenizer
    }

    public convenience init(jsonFile path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TokenizerError.unreadableFile(path: path, reason: error.localizedDescription)
        }
        try self.init(jsonData: data, source: path)
    }

    /// Parses a `tokenizer.json` document; `source` names it in errors.
    public convenience init(jsonData data: Data, source: String = "tokenizer.json") throws {
        let root = try JSONNode.parse(data: data, file: source)
        _ = try root.object()
        let model = try ModelFactory.make(try root.required("model"))
        let normalizer = try root["normalizer"].map(NormalizerFactory.make)
        var added: [AddedToken] = []
        if let list = root["added_tokens"] {
            for node in try list.array() {
                added.append(AddedToken(id: try node.required("id").int(), content: try node.required("content").string(),
                                        special: try node.bool("special", default: false),
                                        normalized: try node.bool("normalized", default: true),
                                        lstrip: try node.bool("lstrip", default: false),
                                        rstrip: try node.bool("rstrip", default: false),
                                        singleWord: try node.bool("single_word", default: false)))
            }
        }
        self.init(normalizer: normalizer,
                  preTokenizer: try root["pre_tokenizer"].map(PreTokenizerFactory.make),
                  model: model,
                  postProcessor: try root["post_processor"].map(PostProcessorFactory.make),
                  decoder: try root["decoder"].map(DecoderFactory.make),
                  addedTokens: added,
                  truncation: try root["truncation"].map(Truncation.init),
                  padding: try root["padding"].map(Padding.init))
    }

    /// BERT from a `vocab.txt` (what `BertTokenizerFast` builds: BERT normalizer and pre-tokenizer,
    /// `[CLS] A [SEP] B [SEP]`, WordPiece decoder).
    public static func bert(vocabFile: String, lowercase: Bool = true) throws -> Tokenizer {
        let model = try WordPieceModel(vocabFile: vocabFile)
        let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { name in
            model.vocab[token: name].map { AddedToken(id: $0, content: name, special: true, normalized: false,
                                               lstrip: false, rstrip: false, singleWord: false) }
        }
        guard let cls = model.vocab[token: "[CLS]"] else { throw TokenizerError.unknownToken(token: "[CLS]", path: vocabFile) }
        guard let sep = model.vocab[token: "[SEP]"] else { throw TokenizerError.unknownToken(token: "[SEP]", path: vocabFile) }
        return Tokenizer(normalizer: BertNormalizer(cleanText: true, handleChineseChars: true, stripAccents: lowercase, lowercase: lowercase),
                         preTokenizer: BertPreTokenizer(), model: model,
                         postProcessor: BertProcessing(cls: cls, sep: sep),
                         decoder: WordPieceDecoder(prefix: "##", cleanup: true),
                         addedTokens: specials, truncation: nil, padding: nil)
    }

    /// The built-in byte tokenizer for byte-level models shipped without one: id = UTF-8 byte (0…255),
    /// no special tokens; decoding turns invalid byte runs into U+FFFD.
    public static func bytes() -> Tokenizer {
        Tokenizer(normalizer: nil, preTokenizer: nil, model: ByteModel(), postProcessor: nil,
                  decoder: ByteModel.LossyDecoder(),
                  addedTokens: [], truncation: nil, padding: nil)
    }

    // MARK: Vocabulary

    /// Model vocabulary plus added tokens outside it (`len(tokenizer)` in transformers).
    public var vocabularySize: Int { max(model.vocabularySize, (addedTokens.map(\.id).max() ?? -1) + 1) }

    public func tokenToId(_ token: String) -> Int? { addedByContent[token] ?? model.tokenToId(token) }

    public func idToToken(_ id: Int) -> String? { addedById[id]?.content ?? model.idToToken(id) }

    // MARK: Encoding

    /// Ids of `text`, special tokens added as the post-processor says (and truncated / padded as configured).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        encoding(text, addSpecialTokens: addSpecialTokens).ids
    }

    /// Ids of UTF-8 bytes; throws `invalidUTF8` with the offset of the first bad byte.
    public func encode(utf8 bytes: [UInt8], addSpecialTokens: Bool = true) throws -> [Int] {
        encode(try Tokenizer.validatedString(bytes), addSpecialTokens: addSpecialTokens)
    }

    public func encodePair(_ a: String, _ b: String, addSpecialTokens: Bool = true) -> Encoding {
        encoding(a, pair: b, addSpecialTokens: addSpecialTokens)
    }

    public func encoding(_ text: String, pair: String? = nil, addSpecialTokens: Bool = true) -> Encoding {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        var e = [encodeUnpadded(text, pair, addSpecialTokens, sharedCache)]
        padding?.apply(&e)
        return e[0]
    }

    /// Encodes many texts on `threads` threads; padding (if set) applies across the batch.
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true, threads: Int = 1) -> [Encoding] {
        batch(texts.count, threads: threads) { i, cache in self.encodeUnpadded(texts[i], nil, addSpecialTokens, cache) }
    }

    public func encodeBatch(pairs: [(String, String)], addSpecialTokens: Bool = true, threads: Int = 1) -> [Encoding] {
        batch(pairs.count, threads: threads) { i, cache in self.encodeUnpadded(pairs[i].0, pairs[i].1, addSpecialTokens, cache) }
    }

    private func batch(_ n: Int, threads: Int, _ one: @escaping (Int, WordCache) -> Encoding) -> [Encoding] {
        var out = [Encoding](repeating: Encoding(ids: [], typeIds: [], attentionMask: [], specialTokensMask: []), count: n)
        let workers = max(1, min(threads, n))
        out.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            // Contiguous chunks: each worker's cache sees related lines, and writes don't interleave.
            let chunk = (n + workers - 1) / workers
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let cache = WordCache()
                for i in (w * chunk)..<min(n, (w + 1) * chunk) { (base + i).pointee = one(i, cache) }
            }
        }
        padding?.apply(&out)
        return out
    }

    private func encodeUnpadded(_ a: String, _ b: String?, _ addSpecial: Bool, _ cache: WordCache) -> Encoding {
        var idsA = modelIds(a, cache)
        var idsB = b.map { modelIds($0, cache) }
        if let truncation {
            let added = addSpecial ? (postProcessor?.addedTokens(isPair: b != nil) ?? 0) : 0
            (idsA, idsB) = truncation.apply(idsA, idsB, added: added)
        }
        let first = PartialEncoding(ids: idsA, typeId: 0)
        let second = idsB.map { PartialEncoding(ids: $0, typeId: 1) }
        let merged = postProcessor?.process(first, second, addSpecialTokens: addSpecial) ?? defaultProcess(first, second)
        return Encoding(ids: merged.ids, typeIds: merged.typeIds,
                        attentionMask: [Int](repeating: 1, count: merged.ids.count),
                        specialTokensMask: merged.special.map { $0 ? 1 : 0 })
    }

    /// Added-token split → normalize → pre-tokenize → model, for one sequence.
    func modelIds(_ text: String, _ cache: WordCache) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        ids.reserveCapacity(scalars.count / 3 + 4)
        for segment in rawMatcher.split(scalars) {
            if let id = segment.id { ids.append(id); continue }
            var piece = Array(scalars[segment.range])
            let atStart = segment.range.lowerBound == 0
            if let normalizer { piece = normalizer.normalize(piece) }
            for sub in normalizedMatcher.split(piece) {
                if let id = sub.id { ids.append(id); continue }
                if sub.range.isEmpty { continue }
                let p = Piece(text: Array(piece[sub.range]), atStart: atStart && sub.range.lowerBound == 0)
                let pieces = preTokenizer?.preTokenize([p]) ?? [p]
                for q in pieces where !q.text.isEmpty { model.tokenize(q.text, cache: cache, into: &ids) }
            }
        }
        return ids
    }

    // MARK: Decoding

    /// Text of `ids` (special tokens skipped by default), through the tokenizer's decoder; ids outside
    /// the vocabulary are ignored, as in `tokenizers`.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let added = addedById[id] {
                if skipSpecialTokens && added.special { continue }
                tokens.append(added.content)
            } else if let t = model.idToToken(id) {
                tokens.append(t)
            }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    // MARK: Helpers

    /// `bytes` as a String, or `invalidUTF8` at the first bad byte.
    public static func validatedString(_ bytes: [UInt8], line: Int? = nil) throws -> String {
        var decoder = UTF8()
        var view = String.UnicodeScalarView()
        var offset = 0
        var it = bytes.makeIterator()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s): view.append(s); offset += UTF8.width(s)
            case .emptyInput: return String(view)
            case .error: throw TokenizerError.invalidUTF8(offset: offset, line: line)
            }
        }
    }

    private func guessSpecialTokens() {
        func first(_ names: [String]) -> Int? { names.lazy.compactMap { self.tokenToId($0) }.first }
        padTokenId = padding?.padId ?? first(["[PAD]", "<pad>", "<|pad|>", "<|finetune_right_pad_id|>"])
        clsTokenId = first(["[CLS]", "<s>", "<cls>"])
        sepTokenId = first(["[SEP]", "</s>", "<sep>"])
        bosTokenId = first(["<s>", "<|begin_of_text|>", "<|startoftext|>", "<bos>", "<|endoftext|>"])
        eosTokenId = first(["</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "<|im_end|>"])
        unkTokenId = first(["[UNK]", "<unk>", "<|unk|>"])
    }

    /// Uses `pad_token`, `bos_token`, … from `tokenizer_config.json` / `special_tokens_map.json`.
    private func applySpecialTokenNames(folder: String) {
        for file in ["special_tokens_map.json", "tokenizer_config.json"] {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: folder + "/" + file)),
                  let dict = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
            func id(_ key: String) -> Int? {
                let v = dict[key]
                let name = (v as? String) ?? ((v as? [String: Any])?["content"] as? String)
                return name.flatMap { tokenToId($0) }
            }
            if let i = id("pad_token") { padTokenId = i }
            if let i = id("cls_token") { clsTokenId = i }
            if let i = id("sep_token") { sepTokenId = i }
            if let i = id("bos_token") { bosTokenId = i }
            if let i = id("eos_token") { eosTokenId = i }
            if let i = id("unk_token") { unkTokenId = i }
        }
    }
}

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
