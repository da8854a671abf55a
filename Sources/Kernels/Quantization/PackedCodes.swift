/// Whittle's packed layout of low-bit integer codes (ternary and 2-bit: 2 bits, symmetric int4: 4 bits
/// per weight), one `[rows, cols]` matrix row after another (docs/ARCHITECTURE.md "Packed low-bit
/// weights"). Each row is `groups = ⌈cols / (256 / bits)⌉` groups of 32 bytes; byte t of a group holds
/// the columns t, t + 32, t + 64, … (256 / bits columns per group), the first in the lowest bits. A field
/// stores `code + 2^(bits−1)` (2 bits: −1, 0, 1 → 1, 2, 3; 4 bits: −7…7 → 1…15); columns past `cols`
/// hold the zero code. The interleave lets an AVX2 kernel unpack 32 columns with one shift and one mask.
public struct PackedCodes: Equatable, Sendable {
    /// 2 or 4.
    public let bits: Int
    public let rows: Int
    public let cols: Int
    public var bytes: [UInt8]

    public static let groupBytes = 32
    public static func columnsPerGroup(bits: Int) -> Int { 8 * groupBytes / bits }
    public static func rowBytes(bits: Int, cols: Int) -> Int {
        let g = columnsPerGroup(bits: bits)
        return (cols + g - 1) / g * groupBytes
    }
    /// Columns of a row padded to whole groups (the kernel's K).
    public static func paddedColumns(bits: Int, cols: Int) -> Int { rowBytes(bits: bits, cols: cols) * 8 / bits }
    public static func offset(bits: Int) -> Int32 { Int32(1 << (bits - 1)) }

    public var rowBytes: Int { Self.rowBytes(bits: bits, cols: cols) }

    public init(bits: Int, rows: Int, cols: Int, bytes: [UInt8]) {
        precondition(bits == 2 || bits == 4, "PackedCodes: bits must be 2 or 4")
        precondition(bytes.count == rows * Self.rowBytes(bits: bits, cols: cols), "PackedCodes: \(bytes.count) bytes for [\(rows), \(cols)]")
        self.bits = bits; self.rows = rows; self.cols = cols; self.bytes = bytes
    }

    /// Byte index and bit shift of column `c` within its row.
    @inline(__always)
    static func position(_ c: Int, bits: Int) -> (byte: Int, shift: Int) {
        let g = columnsPerGroup(bits: bits), inGroup = c % g
        return (c / g * groupBytes + inGroup % groupBytes, inGroup / groupBytes * bits)
    }

    /// Packs `codes[rows·cols]` (each within ±(2^(bits−1) − 1)).
    public init(bits: Int, rows: Int, cols: Int, codes: UnsafeBufferPointer<Int32>) {
        precondition(codes.count == rows * cols, "PackedCodes: \(codes.count) codes for [\(rows), \(cols)]")
        let rb = Self.rowBytes(bits: bits, cols: cols), off = Self.offset(bits: bits)
        let zero = UInt8(off)
        var fill: UInt8 = 0
        for k in 0..<(8 / bits) { fill |= zero << UInt8(k * bits) }
        var out = [UInt8](repeating: fill, count: rows * rb)
        let mask = UInt8((1 << bits) - 1)
        for r in 0..<rows {
            for c in 0..<cols {
                let code = codes[r * cols + c]
                precondition(abs(code) < off, "PackedCodes: code \(code) outside the \(bits)-bit range")
                let (b, s) = Self.position(c, bits: bits)
                let i = r * rb + b
                out[i] = (out[i] & ~(mask << UInt8(s))) | (UInt8(code + off) << UInt8(s))
            }
        }
        self.init(bits: bits, rows: rows, cols: cols, bytes: out)
    }

    /// The code of one element.
    @inline(__always)
    public func code(row r: Int, col c: Int) -> Int32 {
        let (b, s) = Self.position(c, bits: bits)
        return Int32((bytes[r * rowBytes + b] >> UInt8(s)) & UInt8((1 << bits) - 1)) - Self.offset(bits: bits)
    }

    public func codes() -> [Int32] {
        var out = [Int32](repeating: 0, count: rows * cols)
        for r in 0..<rows { for c in 0..<cols { out[r * cols + c] = code(row: r, col: c) } }
        return out
    }

    /// x̂ = scale_g · code, with one scale per tensor (`scales.count == 1`) or per row — the values
    /// the fake-quant forward computes (`QuantizedCodes.dequantize`), bit for bit.
    public func dequantized(scales: [Float]) -> [Float] {
        precondition(scales.count == 1 || scales.count == rows, "PackedCodes: \(scales.count) scales for \(rows) rows")
        var out = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            let s = scales.count == 1 ? scales[0] : scales[r]
            for c in 0..<cols { out[r * cols + c] = s * Float(code(row: r, col: c)) }
        }
        return out
    }
}
