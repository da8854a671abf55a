import Foundation
import Kernels
import Tensors
import Checkpoints

/// The bitsandbytes 4-bit serialization of one weight, as transformers saves a `Linear4bit`
/// (`Params4bit` / `QuantState.as_dict(packed=True)` in bitsandbytes 0.50; inspected on a model
/// saved by transformers 5.24 — see tools/reference/quant_nf4_checkpoint.py):
///   W                                  U8  [(n+1)/2, 1]   packed codes, even element in the high nibble
///   W.absmax                           U8  [blocks] with double quantization, else F32 [blocks]
///   W.quant_map                        F32 [16]           the NF4 table
///   W.nested_absmax                    F32 [ceil(blocks/256)]   (double quantization only)
///   W.nested_quant_map                 F32 [256]          DYNAMIC8 (double quantization only)
///   W.quant_state.bitsandbytes__nf4    U8  [len]          JSON: quant_type, blocksize, dtype, shape,
///                                                         nested_blocksize, nested_dtype, nested_offset
public enum NF4Layout {
    public static let stateSuffix = ".quant_state.bitsandbytes__nf4"

    /// torch dtype names as bitsandbytes writes them (`str(dtype).strip("torch.")`).
    public static func torchName(_ dtype: DType) -> String {
        switch dtype {
        case .BF16: return "bfloat16"
        case .F16: return "float16"
        default: return "float32"
        }
    }

    public static func dtype(torchName: String) -> DType? {
        ["bfloat16": DType.BF16, "float16": .F16, "float32": .F32][torchName]
    }

    /// The quant-state JSON, with Python `json.dumps` spacing and key order.
    public static func stateJSON(_ q: NF4Tensor) -> String {
        var offset: Float?
        if case let .double(d) = q.absmax { offset = d.offset }
        return stateJSON(shape: q.shape, originalDType: q.originalDType, blockSize: q.blockSize, nestedOffset: offset)
    }

    /// The same from its parts; `nestedOffset` is nil without double quantization.
    public static func stateJSON(shape: [Int], originalDType: DType, blockSize: Int, nestedOffset: Float?) -> String {
        var s = "{\"quant_type\": \"nf4\", \"blocksize\": \(blockSize), \"dtype\": \"\(torchName(originalDType))\", "
        s += "\"shape\": [\(shape.map(String.init).joined(separator: ", "))]"
        if let nestedOffset {
            s += ", \"nested_blocksize\": \(DoubleQuantizedAbsmax.nestedBlockSize), \"nested_dtype\": \"float32\", "
            s += "\"nested_offset\": \(pythonRepr(Double(nestedOffset)))"
        }
        return s + "}"
    }

    /// The specs of `tensors(weight:_:)` before quantizing, for a streaming writer's header: they
    /// follow from the shape, except the quant-state JSON's length, which follows the offset's digits
    /// (`NF4Tensor.doubleQuantOffset`).
    public static func specs(weight name: String, shape: [Int], originalDType: DType, blockSize: Int,
                             nestedOffset: Float?) -> [TensorSpec] {
        let n = shape.reduce(1, *), blocks = (n + blockSize - 1) / blockSize
        let json = stateJSON(shape: shape, originalDType: originalDType, blockSize: blockSize, nestedOffset: nestedOffset)
        var specs = [TensorSpec(name: name, dtype: .U8, shape: [(n + 1) / 2, 1]),
                     TensorSpec(name: name + ".quant_map", dtype: .F32, shape: [16]),
                     TensorSpec(name: name + stateSuffix, dtype: .U8, shape: [json.utf8.count])]
        if nestedOffset == nil {
            specs.append(TensorSpec(name: name + ".absmax", dtype: .F32, shape: [blocks]))
        } else {
            let nested = (blocks + DoubleQuantizedAbsmax.nestedBlockSize - 1) / DoubleQuantizedAbsmax.nestedBlockSize
            specs += [TensorSpec(name: name + ".absmax", dtype: .U8, shape: [blocks]),
                      TensorSpec(name: name + ".nested_absmax", dtype: .F32, shape: [nested]),
                      TensorSpec(name: name + ".nested_quant_map", dtype: .F32, shape: [256])]
        }
        return specs
    }

    /// Python's `repr(float)` for the offset: Swift's shortest round-trip digits agree with Python's
    /// for the magnitudes an absmax mean takes; a whole number gets Python's trailing ".0".
    static func pythonRepr(_ x: Double) -> String {
        let s = "\(x)"
        return s.contains(".") || s.contains("e") || s.contains("n") ? s : s + ".0"
    }

    /// All tensors of one quantized weight.
    public static func tensors(weight name: String, _ q: NF4Tensor) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        out[name] = q.packed.withUnsafeBytes { Tensor(dtype: .U8, shape: [q.packed.count, 1], bytes: $0) }
        out[name + ".quant_map"] = Tensor(floats: NF4.values, shape: [16])
        switch q.absmax {
        case let .plain(a):
            out[name + ".absmax"] = Tensor(floats: a, shape: [a.count])
        case let .double(d):
            out[name + ".absmax"] = d.codes.withUnsafeBytes { Tensor(dtype: .U8, shape: [d.codes.count], bytes: $0) }
            out[name + ".nested_absmax"] = Tensor(floats: d.nestedAbsmax, shape: [d.nestedAbsmax.count])
            out[name + ".nested_quant_map"] = Tensor(floats: Dynamic8.values, shape: [256])
        }
        let json = Array(stateJSON(q).utf8)
        out[name + stateSuffix] = json.withUnsafeBytes { Tensor(dtype: .U8, shape: [json.count], bytes: $0) }
        return out
    }

    /// The original shape recorded in a weight's quant state (without reading the packed data).
    public static func shape(weight name: String, from store: TensorStore) throws -> [Int] {
        let stateName = name + stateSuffix
        guard let object = try? JSONSerialization.jsonObject(with: Data(try store.tensor(stateName).bytes)) as? [String: Any],
              let shape = object["shape"] as? [Int] else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: stateName, reason: "expected a JSON object with \"shape\"")
        }
        return shape
    }

    /// Reads one weight back from its serialized tensors (the loader side).
    public static func read(weight name: String, from store: TensorStore) throws -> NF4Tensor {
        let stateName = name + stateSuffix
        let stateBytes = Array(try store.tensor(stateName).bytes)
        guard let object = try? JSONSerialization.jsonObject(with: Data(stateBytes)) as? [String: Any],
              (object["quant_type"] as? String) == "nf4",
              let blockSize = object["blocksize"] as? Int, let shape = object["shape"] as? [Int],
              let dtypeName = object["dtype"] as? String, let dtype = dtype(torchName: dtypeName) else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: stateName, reason: "expected nf4 quant state JSON with blocksize, shape and dtype")
        }
        let packed = Array(try store.tensor(name).bytes)
        let n = shape.reduce(1, *)
        guard packed.count == (n + 1) / 2, NF4.validBlockSizes.contains(blockSize) else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: name, reason: "\(packed.count) packed bytes for shape \(shape), block size \(blockSize)")
        }
        let absmaxTensor = try store.tensor(name + ".absmax")
        let absmax: NF4Tensor.Absmax
        if let offset = object["nested_offset"] as? Double {
            guard absmaxTensor.dtype == .U8 else {
                throw QuantizedCheckpointError.invalidQuantState(tensor: name + ".absmax", reason: "double-quantized absmax must be U8, found \(absmaxTensor.dtype)")
            }
            let nested = try store.tensor(name + ".nested_absmax").floats()
            absmax = .double(DoubleQuantizedAbsmax(codes: Array(absmaxTensor.bytes), nestedAbsmax: nested, offset: Float(offset)))
        } else {
            absmax = .plain(absmaxTensor.floats())
        }
        let blocks = (n + blockSize - 1) / blockSize
        let count: Int
        switch absmax { case let .plain(a): count = a.count; case let .double(d): count = d.codes.count }
        guard count == blocks else {
            throw QuantizedCheckpointError.invalidQuantState(tensor: name + ".absmax", reason: "\(count) entries, expected \(blocks) blocks")
        }
        return NF4Tensor(shape: shape, originalDType: dtype, blockSize: blockSize, packed: packed, absmax: absmax)
    }

    /// `quantization_config` as transformers writes it for `BitsAndBytesConfig(load_in_4bit=True, …)`,
    /// except `llm_int8_threshold` (8-bit only; its default 6.0 applies): JSONSerialization writes 6.0
    /// as `6`, which transformers rejects ("llm_int8_threshold must be a float"). `skipModules` nil is
    /// written as null: transformers then keeps its default skips (the output head) in full precision.
    public static func quantizationConfig(doubleQuant: Bool, computeDType: String, skipModules: [String]?) -> [String: Any] {
        [
            "_load_in_4bit": true,
            "_load_in_8bit": false,
            "bnb_4bit_compute_dtype": computeDType,
            "bnb_4bit_quant_storage": "uint8",
            "bnb_4bit_quant_type": "nf4",
            "bnb_4bit_use_double_quant": doubleQuant,
            "llm_int8_enable_fp32_cpu_offload": false,
            "llm_int8_has_fp16_weight": false,
            "llm_int8_skip_modules": skipModules.map { $0 as Any } ?? NSNull(),
            "load_in_4bit": true,
            "load_in_8bit": false,
            "quant_method": "bitsandbytes",
        ]
    }
}

