import Foundation

/// One slice `index` of `count` (0-based) of a run's independent work items (docs/ARCHITECTURE.md
/// "Production runs"): `compress --shard I/N` runs slice I−1 of N.
public struct WorkSlice: Codable, Equatable, Hashable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int
    public static let all = WorkSlice(index: 0, count: 1)

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(index), "WorkSlice: index \(index) outside 0..<\(count)")
        self.index = index; self.count = count
    }

    /// The contiguous items of this slice among `n` (sizes differ by at most one; every item in exactly one slice).
    public func range(of n: Int) -> Range<Int> { (n * index / count)..<(n * (index + 1) / count) }

    /// "I/N", 1-based as on the command line.
    public var description: String { "\(index + 1)/\(count)" }
}

/// Results of independent work items, by step and item index (a step is e.g. `passes[0]` — OPTIN's
/// head / neuron-batch scores — or `evaluation[1].before` — one perplexity window's NLL sum), each
/// item JSON-encoded so it reloads exactly (Double round-trips through Swift's JSON).
///
/// One structure serves three uses: a shard fills only its `slice` and the pipeline saves the
/// ledger as its partial result; `compress merge` joins the ledgers of all shards and the run takes
/// every item from it; a long step saves the ledger into the temporary output every
/// `saveEvery` new items, and `--resume` starts from what was saved. A step computes an item only
/// when the ledger does not hold it and `slice` contains it, so every item is computed by exactly
/// the same code in every mode (the merged output is the single-process output, byte for byte).
public final class WorkLedger: @unchecked Sendable {
    public let slice: WorkSlice
    public private(set) var items: [String: [Int: Data]]
    /// Items recorded since the last save, and how many between saves (0: never).
    public var saveEvery: Int
    public var save: ((WorkLedger) throws -> Void)?
    /// Called after each record (and its save, if one was due) with the number recorded so far.
    public var afterRecord: ((Int) -> Void)?
    /// Called after each training step (its checkpoint saved, if one was due) with the step count.
    public var afterStep: ((Int) -> Void)?
    private var unsaved = 0, recorded = 0
    private let lock = NSLock()

    public init(slice: WorkSlice = .all, items: [String: [Int: Data]] = [:], saveEvery: Int = 0) {
        self.slice = slice; self.items = items; self.saveEvery = saveEvery
    }

    /// Items (and training loop state) as JSON; a diverged value (NaN, ±∞) is the string "nan", "inf",
    /// "-inf", so a run whose loss blew up still saves its progress.
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }
    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    /// A stored item of `step`, decoded.
    public func item<T: Decodable>(_ step: String, _ index: Int, as type: T.Type) throws -> T? {
        lock.lock(); let data = items[step]?[index]; lock.unlock()
        guard let data else { return nil }
        return try WorkLedger.decoder.decode(T.self, from: data)
    }

    /// Whether this process computes item `index` of `total` (not stored and in its slice).
    public func shouldCompute(_ step: String, _ index: Int, of total: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return items[step]?[index] == nil && slice.range(of: total).contains(index)
    }

    /// Records a computed item; saves the ledger every `saveEvery` records, or at once with `saveNow`
    /// (an item that took long, such as one of FinerCut's greedy steps), when saving is on.
    public func record<T: Encodable>(_ step: String, _ index: Int, _ value: T, saveNow: Bool = false) throws {
        let data = try WorkLedger.encoder.encode(value)
        lock.lock()
        items[step, default: [:]][index] = data
        unsaved += 1; recorded += 1
        let due = saveEvery > 0 && (saveNow || unsaved >= saveEvery), count = recorded
        if due { unsaved = 0 }
        lock.unlock()
        if due { try save?(self) }
        afterRecord?(count)
    }

    /// Adds every item of `other` (a shard's partial result); an item present in both with different
    /// values is an error (the same value twice is harmless: a weight split across two output shards
    /// is measured by both).
    public func merge(_ other: WorkLedger) throws {
        for (step, entries) in other.items {
            for (index, data) in entries {
                if let existing = items[step]?[index] {
                    guard try JSONDecoder().decode(JSONAny.self, from: existing) == JSONDecoder().decode(JSONAny.self, from: data) else {
                        throw WorkLedgerError.duplicateItem(step: step, index: index)
                    }
                    continue
                }
                items[step, default: [:]][index] = data
            }
        }
    }

    /// Whether every item of `step` (`total` of them) is stored.
    public func isComplete(_ step: String, total: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return (items[step]?.count ?? 0) == total
    }
}

public enum WorkLedgerError: Error, CustomStringConvertible, Equatable {
    case duplicateItem(step: String, index: Int)
    public var description: String {
        switch self {
        case let .duplicateItem(step, index): return "\(step): item \(index) is in two partial results with different values"
        }
    }
}

/// Thrown by a step run with a slice of its items when it has computed them and cannot go further
/// without the other slices (the pipeline catches it and writes the partial result).
public struct SliceComplete: Error, CustomStringConvertible {
    public let step: String
    public init(step: String) { self.step = step }
    public var description: String { "\(step): slice computed; the other slices are needed to go on (compress merge)" }
}

/// Any JSON value, compared by value (key order and number spelling do not matter).
private indirect enum JSONAny: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONAny]), object([String: JSONAny])
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) } else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONAny].self) { self = .array(a) } else { self = .object(try c.decode([String: JSONAny].self)) }
    }
}
