/// The type tag of a GGUF metadata value (gguf.h `enum gguf_type`).
public enum GGUFValueType: UInt32, Sendable, CustomStringConvertible {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    public var description: String { name }

    var name: String {
        switch self {
        case .uint8: "uint8"; case .int8: "int8"; case .uint16: "uint16"; case .int16: "int16"
        case .uint32: "uint32"; case .int32: "int32"; case .float32: "float32"; case .bool: "bool"
        case .string: "string"; case .array: "array"; case .uint64: "uint64"; case .int64: "int64"
        case .float64: "float64"
        }
    }

    /// Bytes of one value of a scalar type; strings and arrays take at least their 8-byte length.
    var minimumBytes: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }
}

/// One GGUF metadata value, with its stored type kept (a `uint32` 3 and an `int64` 3 differ).
/// Arrays hold their element type and may nest (the format allows it; llama.cpp never writes it).
public indirect enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    case array(GGUFValueType, [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8; case .int8: .int8; case .uint16: .uint16; case .int16: .int16
        case .uint32: .uint32; case .int32: .int32; case .float32: .float32; case .bool: .bool
        case .string: .string; case .uint64: .uint64; case .int64: .int64; case .float64: .float64
        case .array: .array
        }
    }

    public var string: String? { if case let .string(s) = self { s } else { nil } }

    /// Any integer type as Int when it fits (hyper-parameters are written as uint32 or int32 by
    /// different converters).
    public var int: Int? {
        switch self {
        case let .uint8(v): Int(v); case let .int8(v): Int(v); case let .uint16(v): Int(v); case let .int16(v): Int(v)
        case let .uint32(v): Int(v); case let .int32(v): Int(v); case let .uint64(v): Int(exactly: v); case let .int64(v): Int(v)
        default: nil
        }
    }

    /// float32 or float64 as Double.
    public var double: Double? {
        switch self {
        case let .float32(v): Double(v); case let .float64(v): v
        default: nil
        }
    }

    public var array: [GGUFValue]? { if case let .array(_, a) = self { a } else { nil } }

    /// Short text for summaries: scalars in full (strings cut at 60 characters), arrays by type and count.
    public var summary: String {
        switch self {
        case let .string(s): return s.count > 60 ? "\"\(s.prefix(60))…\"" : "\"\(s)\""
        case let .array(t, a): return "[\(t); \(a.count)]"
        case let .uint8(v): return "\(v)"; case let .int8(v): return "\(v)"
        case let .uint16(v): return "\(v)"; case let .int16(v): return "\(v)"
        case let .uint32(v): return "\(v)"; case let .int32(v): return "\(v)"
        case let .uint64(v): return "\(v)"; case let .int64(v): return "\(v)"
        case let .float32(v): return "\(v)"; case let .float64(v): return "\(v)"
        case let .bool(v): return "\(v)"
        }
    }
}
