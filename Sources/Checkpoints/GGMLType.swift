/// A ggml tensor type as stored in a GGUF tensor info (ggml.h `enum ggml_type`; ids 4, 5 and
/// 31–33 were retired upstream and stay unknown). Quantized types store `blockSize` elements of a
/// row in `blockBytes` bytes; GGUF requires every row (ne[0]) to be a whole number of blocks.
public enum GGMLType: UInt32, CaseIterable, Sendable, CustomStringConvertible {
    case F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9
    case Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15
    case IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23
    case I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30
    case TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41

    public var description: String { name }

    public var name: String {
        switch self {
        case .F32: "F32"; case .F16: "F16"; case .Q4_0: "Q4_0"; case .Q4_1: "Q4_1"; case .Q5_0: "Q5_0"
        case .Q5_1: "Q5_1"; case .Q8_0: "Q8_0"; case .Q8_1: "Q8_1"; case .Q2_K: "Q2_K"; case .Q3_K: "Q3_K"
        case .Q4_K: "Q4_K"; case .Q5_K: "Q5_K"; case .Q6_K: "Q6_K"; case .Q8_K: "Q8_K"
        case .IQ2_XXS: "IQ2_XXS"; case .IQ2_XS: "IQ2_XS"; case .IQ3_XXS: "IQ3_XXS"; case .IQ1_S: "IQ1_S"
        case .IQ4_NL: "IQ4_NL"; case .IQ3_S: "IQ3_S"; case .IQ2_S: "IQ2_S"; case .IQ4_XS: "IQ4_XS"
        case .I8: "I8"; case .I16: "I16"; case .I32: "I32"; case .I64: "I64"; case .F64: "F64"
        case .IQ1_M: "IQ1_M"; case .BF16: "BF16"; case .TQ1_0: "TQ1_0"; case .TQ2_0: "TQ2_0"
        case .MXFP4: "MXFP4"; case .NVFP4: "NVFP4"; case .Q1_0: "Q1_0"
        }
    }

    /// Elements per block (1 for plain types; 256 = QK_K for the K- and most IQ-quants).
    public var blockSize: Int {
        switch self {
        case .F32, .F16, .BF16, .F64, .I8, .I16, .I32, .I64: 1
        case .Q4_0, .Q4_1, .Q5_0, .Q5_1, .Q8_0, .Q8_1, .IQ4_NL, .MXFP4: 32
        case .NVFP4: 64
        case .Q1_0: 128
        case .Q2_K, .Q3_K, .Q4_K, .Q5_K, .Q6_K, .Q8_K, .IQ2_XXS, .IQ2_XS, .IQ3_XXS, .IQ1_S, .IQ3_S, .IQ2_S,
             .IQ4_XS, .IQ1_M, .TQ1_0, .TQ2_0: 256
        }
    }

    /// Bytes per block (gguf-py `GGML_QUANT_SIZES`, ggml.c `type_traits`).
    public var blockBytes: Int {
        switch self {
        case .F32, .I32: 4
        case .F16, .BF16, .I16: 2
        case .F64, .I64: 8
        case .I8: 1
        case .Q4_0, .IQ4_NL: 18
        case .Q4_1: 20
        case .Q5_0: 22
        case .Q5_1: 24
        case .Q8_0: 34
        case .Q8_1: 40
        case .Q2_K: 84
        case .Q3_K: 110
        case .Q4_K: 144
        case .Q5_K: 176
        case .Q6_K: 210
        case .Q8_K: 292
        case .IQ2_XXS: 66
        case .IQ2_XS: 74
        case .IQ3_XXS: 98
        case .IQ1_S: 50
        case .IQ3_S: 110
        case .IQ2_S: 82
        case .IQ4_XS: 136
        case .IQ1_M: 56
        case .TQ1_0: 54
        case .TQ2_0: 66
        case .MXFP4: 17
        case .NVFP4: 36
        case .Q1_0: 18
        }
    }

    /// The types `dequantizeGGML` converts to Float32.
    public static let dequantizable: [GGMLType] = [.F32, .F16, .BF16, .Q8_0, .Q4_0, .Q4_1, .Q5_0, .Q5_1,
                                                   .Q2_K, .Q3_K, .Q4_K, .Q5_K, .Q6_K]
}
