/// One tensor entry of a GGUF header.
public struct GGUFTensorInfo: Equatable, Sendable {
    public let name: String
    public let type: GGMLType
    /// ggml order, fastest-varying first: `dimensions[0]` (ne[0]) is the row length.
    public let dimensions: [Int]
    /// Offset of the data from the start of the data section (a multiple of the alignment).
    public let offset: Int
    public let byteCount: Int

    /// PyTorch / safetensors order, slowest first: [ne[n-1], …, ne[0]].
    public var shape: [Int] { dimensions.reversed() }
    public var elementCount: Int { dimensions.reduce(1, *) }
    public var dataRange: Range<Int> { offset..<(offset + byteCount) }
}
