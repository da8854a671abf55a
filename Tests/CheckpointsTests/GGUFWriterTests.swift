import Foundation
import XCTest
@testable import Checkpoints
import Tensors
import TestSupport

/// A model held in memory (tests only).
final class MemoryStore: TensorStore {
    let config: [String: Any]
    let names: [String]
    let tensors: [String: Tensor]
    init(config: [String: Any], tensors: [String: Tensor]) {
        self.config = config; self.tensors = tensors; names = tensors.keys.sorted()
    }
    func spec(_ name: String) -> TensorSpec? { tensors[name].map { TensorSpec(name: name, dtype: $0.dtype, shape: $0.shape) } }
    func tensor(_ name: String) throws -> Tensor {
        guard let t = tensors[name] else { throw CheckpointError.tensorNotFound(path: "(memory)", name: name) }
        return t
    }
}

/// The GGUF writer against llama.cpp's own quantizer: `llama-quantize` (no importance matrix) on the
/// same F32 weights gave fixtures/gguf/quantize (tools/reference/gguf_quantize_reference.py); our
/// files must hold the same tensors, in the same order, of the same types, byte for byte.
final class GGUFWriterTests: XCTestCase {
    static let regenerate = "WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp /root/venv/bin/python tools/reference/gguf_quantize_reference.py"
    static let shakespeare = Fixtures.path("models/shakespeare-llama")

    func fixture(_ name: String) throws -> String { try Fixtures.required("gguf/quantize/\(name)", regenerate: Self.regenerate) }

    /// Every tensor of `ours` equals `theirs`: names in order, types, dimensions and bytes.
    func assertSameTensors(_ ours: String, _ theirs: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try GGUFFile(path: ours), b = try GGUFFile(path: theirs)
        XCTAssertEqual(a.names, b.names, "tensor order", file: file, line: line)
        for info in b.tensors {
            guard let mine = a.info(info.name) else { XCTFail("\(info.name) missing", file: file, line: line); continue }
            XCTAssertEqual(mine.type, info.type, "\(info.name): type", file: file, line: line)
            XCTAssertEqual(mine.dimensions, info.dimensions, "\(info.name): dimensions", file: file, line: line)
            let x = try a.rawTensor(info.name).withUnsafeBytes { Array($0) }, y = try b.rawTensor(info.name).withUnsafeBytes { Array($0) }
            guard x != y else { continue }
            let blockBytes = info.type.blockBytes
            let first = zip(x, y).enumerated().first { $1.0 != $1.1 }?.offset ?? 0
            let differing = stride(from: 0, to: min(x.count, y.count), by: blockBytes).filter { x[$0..<($0 + blockBytes)] != y[$0..<($0 + blockBytes)] }.count
            XCTFail("\(info.name) (\(info.type)): \(differing) of \(y.count / blockBytes) blocks differ from llama-quantize's, first at byte \(first)", file: file, line: line)
        }
    }

    func checkShakespeare(_ type: GGUFExportType) throws {
        let reference = try fixture("shakespeare-\(type.rawValue).gguf")
        let folder = TemporaryFolder()
        let out = folder.file("ours.gguf")
        try GGUFExport.write(try Checkpoint(path: Self.shakespeare), to: out, type: type, tokenizerFolder: Self.shakespeare)
        try assertSameTensors(out, reference)
        XCTAssertEqual(folder.contents, ["ours.gguf"], "no temporary file left behind")
    }

    func testQ8_0IsByteIdenticalToLlamaQuantize() throws { try checkShakespeare(.q8_0) }
    func testQ4_0IsByteIdenticalToLlamaQuantize() throws { try checkShakespeare(.q4_0) }
    func testQ4_1IsByteIdenticalToLlamaQuantize() throws { try checkShakespeare(.q4_1) }

    /// The synthetic model of the reference script, bit for bit: an integer hash per element.
    static func synthetic() -> MemoryStore {
        var shapes: [String: [Int]] = ["model.embed_tokens.weight": [64, 256], "lm_head.weight": [64, 256], "model.norm.weight": [256]]
        for l in 0..<4 {
            let p = "model.layers.\(l)."
            for n in ["input_layernorm", "post_attention_layernorm"] { shapes[p + n + ".weight"] = [256] }
            for n in ["self_attn.q_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"] { shapes[p + n + ".weight"] = [256, 256] }
            for n in ["self_attn.k_proj", "self_attn.v_proj"] { shapes[p + n + ".weight"] = [128, 256] }
        }
        var tensors: [String: Tensor] = [:]
        for (t, name) in shapes.keys.sorted().enumerated() {
            let shape = shapes[name]!, n = shape.reduce(1, *)
            let values = (0..<n).map { i -> Float in
                var h = (UInt64(i) &* 2_654_435_761 &+ UInt64(t * 40503 + 12345)) % (1 << 32)
                h ^= h >> 13
                h = (h &* 0x5BD1_E995) % (1 << 32)
                h ^= h >> 15
                let u = Float(h >> 8) / Float(1 << 24) - 0.5
                return shape.count == 1 ? 1 + u * 0.2 : (u * u * u) * 0.4
            }
            tensors[name] = Tensor(floats: values, shape: shape)
        }
        let config: [String: Any] = ["model_type": "llama", "hidden_size": 256, "intermediate_size": 256, "num_hidden_layers": 4,
                                     "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 64,
                                     "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "tie_word_embeddings": false]
        return MemoryStore(config: config, tensors: tensors)
    }

    /// Q4_K_M: Q4_K, Q6_K for the output head and for attn_v / ffn_down of layers 2 and 3 of 4 (`use_more_bits`).
    func testQ4_K_MMixAndBytesMatchLlamaQuantize() throws {
        let reference = try fixture("synthetic-q4_k_m.gguf")
        let folder = TemporaryFolder()
        let summary = try GGUFExport.write(Self.synthetic(), to: folder.file("ours.gguf"), type: .q4_k_m, tokenizerFolder: nil)
        XCTAssertEqual(summary.typeCounts, ["F32": 9, "Q4_K": 25, "Q6_K": 5])
        try assertSameTensors(folder.file("ours.gguf"), reference)
    }

    /// Write → our reader → values equal the gguf Python package's dequantization of llama-quantize's tensors.
    func testWrittenTensorsDequantizeLikeGGUFPy() throws {
        let reference = try SafetensorsFile(path: try fixture("dequantized.safetensors"))
        let folder = TemporaryFolder()
        var written: [String: GGUFFile] = [:]
        for type in [GGUFExportType.q4_0, .q4_1, .q8_0] {
            let out = folder.file("shakespeare-\(type.rawValue).gguf")
            try GGUFExport.write(try Checkpoint(path: Self.shakespeare), to: out, type: type, tokenizerFolder: nil)
            written["shakespeare-\(type.rawValue)"] = try GGUFFile(path: out)
        }
        try GGUFExport.write(Self.synthetic(), to: folder.file("synthetic.gguf"), type: .q4_k_m, tokenizerFolder: nil)
        written["synthetic-q4_k_m"] = try GGUFFile(path: folder.file("synthetic.gguf"))
        XCTAssertEqual(reference.names.count, 7)
        for key in reference.names {
            let parts = key.split(separator: "/").map(String.init)
            let ours = try XCTUnwrap(written[parts[0]]).floats(parts[1])
            let theirs = try reference.tensor(key).floats()
            XCTAssertEqual(ours.count, theirs.count, key)
            XCTAssertTrue(zip(ours, theirs).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(key): dequantized values differ from gguf-py's")
        }
    }

    /// F32 export → our reader: every tensor back exactly under its Hugging Face name (the q/k permutation
    /// inverted), config.json's hyper-parameters from the metadata, the tokenizer in tokenizer.ggml.*.
    func testF32RoundTripRestoresTheModelAndMetadata() throws {
        let source = try Checkpoint(path: Self.shakespeare)
        let folder = TemporaryFolder()
        try GGUFExport.write(source, to: folder.file("m.gguf"), type: .f32, tokenizerFolder: Self.shakespeare, name: "shakespeare")
        let store = try GGUFTensorStore(path: folder.file("m.gguf"))
        XCTAssertEqual(Set(store.names), Set(source.names))
        for name in source.names {
            XCTAssertEqual(try store.floats(name), try source.floats(name), name)
        }
        for key in ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "vocab_size"] {
            XCTAssertEqual(store.config[key] as? Int, source.config[key] as? Int, key)
        }
        XCTAssertEqual(store.config["tie_word_embeddings"] as? Bool, true)
        let meta = store.file.metadata
        XCTAssertEqual(meta["general.architecture"], .string("llama"))
        XCTAssertEqual(meta["general.name"], .string("shakespeare"))
        XCTAssertEqual(meta["tokenizer.ggml.model"], .string("gpt2"))
        XCTAssertEqual(meta["tokenizer.ggml.pre"], .string("gpt-2"))
        XCTAssertEqual(meta["tokenizer.ggml.tokens"]?.array?.count, 1024)
        XCTAssertEqual(meta["tokenizer.ggml.tokens"]?.array?[0], .string("<|endoftext|>"))
        XCTAssertEqual(meta["tokenizer.ggml.token_type"]?.array?[0], .int32(3), "a special added token is a control token")
        XCTAssertEqual(meta["tokenizer.ggml.merges"]?.array?.first?.string?.split(separator: " ").count, 2)
    }

    /// A row order (the q/k permutation) on a tensor of several slices (> `sliceFloats`) gives the
    /// bytes of the permuted tensor written plainly: every slice gathers its own rows.
    func testRowOrderAcrossSlicesEqualsThePermutedTensor() throws {
        let rows = 2560, rowLength = 512
        XCTAssertGreaterThan(rows * rowLength, GGUFWriter.sliceFloats, "the tensor must span several slices")
        var rng = SeededGenerator(seed: 23)
        let values = (0..<(rows * rowLength)).map { _ in Float.random(in: -1...1, using: &rng) }
        let order = Array((0..<rows).reversed())   // stored row r is source row rows − 1 − r
        let permuted = order.flatMap { values[($0 * rowLength)..<(($0 + 1) * rowLength)] }
        let folder = TemporaryFolder()
        let plans = [GGUFTensorPlan(name: "w", type: .Q4_0, dimensions: [rowLength, rows])]
        try GGUFWriter.write(to: folder.file("gathered.gguf"), metadata: [], tensors: plans, rowOrder: { _ in order }) { _ in
            Tensor(floats: values, shape: [rows, rowLength])
        }
        try GGUFWriter.write(to: folder.file("permuted.gguf"), metadata: [], tensors: plans) { _ in Tensor(floats: permuted, shape: [rows, rowLength]) }
        XCTAssertTrue(try Data(contentsOf: URL(fileURLWithPath: folder.file("gathered.gguf"))) == Data(contentsOf: URL(fileURLWithPath: folder.file("permuted.gguf"))))
    }

    func testFailedWriteLeavesNothingBehind() throws {
        let folder = TemporaryFolder()
        let plans = [GGUFTensorPlan(name: "a", type: .Q4_0, dimensions: [32, 2]), GGUFTensorPlan(name: "b", type: .Q8_0, dimensions: [32])]
        XCTAssertThrowsError(try GGUFWriter.write(to: folder.file("x.gguf"), metadata: [], tensors: plans) { plan in
            Tensor(floats: [Float](repeating: 1, count: plan.name == "a" ? 64 : 31), shape: plan.name == "a" ? [2, 32] : [31])
        }) { error in
            XCTAssertEqual("\(error)", "\(folder.file("x.gguf")): write failed (tensor 'b' was produced as F32 [31], expected floats of shape [32])")
        }
        XCTAssertEqual(folder.contents, [], "no partial or temporary file")
        XCTAssertThrowsError(try GGUFWriter.write(to: folder.file("x.gguf"), metadata: [], tensors: [GGUFTensorPlan(name: "c", type: .Q4_K, dimensions: [32, 1])]) { _ in
            Tensor(floats: [Float](repeating: 0, count: 32), shape: [1, 32])
        }) { XCTAssertTrue("\($0)".contains("tensor 'c': dimensions [32, 1] do not fit Q4_K (rows must be a multiple of 256)"), "\($0)") }
    }

    /// Metadata computed while the tensors are written (`lateMetadata`) gives the same bytes as
    /// metadata given first; its error fails the write and leaves nothing behind.
    func testLateMetadataWritesTheSameFile() throws {
        let folder = TemporaryFolder()
        let plans = [GGUFTensorPlan(name: "a", type: .Q4_0, dimensions: [64, 3]), GGUFTensorPlan(name: "b", type: .F32, dimensions: [5])]
        var rng = seededGenerator(17)
        let values = plans.map { p in (0..<p.elementCount).map { _ in Float.random(in: -2...2, using: &rng) } }
        let early: [(key: String, value: GGUFValue)] = [("general.architecture", .string("llama"))]
        let late: [(key: String, value: GGUFValue)] = [("tokenizer.ggml.tokens", .array(.string, (0..<300).map { .string("t\($0)") }))]
        func produce(_ plan: GGUFTensorPlan) -> Tensor {
            Tensor(floats: values[plans.firstIndex(of: plan)!], shape: plan.dimensions.reversed())
        }
        try GGUFWriter.write(to: folder.file("first.gguf"), metadata: early + late, tensors: plans, produce: produce)
        try GGUFWriter.write(to: folder.file("late.gguf"), metadata: early, tensors: plans, lateMetadata: { late }, produce: produce)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder.file("late.gguf"))),
                       try Data(contentsOf: URL(fileURLWithPath: folder.file("first.gguf"))))
        XCTAssertThrowsError(try GGUFWriter.write(to: folder.file("x.gguf"), metadata: early, tensors: plans,
                                                  lateMetadata: { throw CheckpointError.writeFailed(path: "tok", reason: "late") }, produce: produce)) {
            XCTAssertEqual("\($0)", "tok: write failed (late)")
        }
        XCTAssertThrowsError(try GGUFWriter.write(to: folder.file("x.gguf"), metadata: early, tensors: plans, lateMetadata: { early }, produce: produce)) {
            XCTAssertEqual("\($0)", "\(folder.file("x.gguf")): write failed (metadata key 'general.architecture' is listed twice)")
        }
        XCTAssertEqual(folder.contents.sorted(), ["first.gguf", "late.gguf"], "no partial or temporary file")
    }

    /// Past its capacity the held data goes out behind the header, in order, and the rest straight to the file.
    func testHeldHeaderReleasesAtItsCapacity() throws {
        let folder = TemporaryFolder()
        let file = try OutputFile(temporary: folder.file("t"), destination: folder.file("t"))
        let header: [UInt8] = Array(repeating: 7, count: 40)
        let sink = GGUFHeldHeader(file: file, capacity: 100) { header }
        var expected = header
        for k in 0..<12 {   // 12 × 30 bytes: the 4th write passes the capacity
            let chunk = [UInt8](repeating: UInt8(k), count: 30)
            if k % 2 == 0 {
                try chunk.withUnsafeBytes { try sink.write($0) }
            } else {
                let space = try sink.reserve(minimum: 30)
                space.copyBytes(from: chunk)
                try sink.commit(30)
            }
            expected += chunk
        }
        try sink.release()
        try file.finish()
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: folder.file("t")))), expected)
    }

    func testRefusesToOverwriteItsInput() throws {
        let folder = TemporaryFolder()
        let path = folder.file("m.gguf")
        try GGUFExport.write(Self.synthetic(), to: path, type: .q8_0, tokenizerFolder: nil)
        let store = try GGUFTensorStore(path: path)
        XCTAssertThrowsError(try GGUFExport.write(store, to: path, type: .q4_0, tokenizerFolder: nil, inputs: [path])) {
            XCTAssertEqual($0 as? CheckpointError, .wouldOverwriteInput(path: path))
        }
    }

    /// Pruned models: skipped sublayers and masked units become zeros; a sliced layer is refused.
    func testWhittleSectionIsWrittenAsZeros() throws {
        let base = Self.synthetic()
        var config = base.config
        config["whittle"] = ["skipped_sublayers": [["layer": 1, "kind": "mlp"]], "masked_heads": ["2": [1]], "masked_neurons": ["0": [3, 7]]]
        let folder = TemporaryFolder()
        try GGUFExport.write(MemoryStore(config: config, tensors: base.tensors), to: folder.file("p.gguf"), type: .f32, tokenizerFolder: nil)
        let file = try GGUFFile(path: folder.file("p.gguf"))
        XCTAssertTrue(try file.floats("blk.1.ffn_down.weight").allSatisfy { $0 == 0 })
        XCTAssertFalse(try file.floats("blk.1.ffn_up.weight").allSatisfy { $0 == 0 })
        let o = try file.floats("blk.2.attn_output.weight"), originalO = try base.floats("model.layers.2.self_attn.o_proj.weight")
        for row in 0..<256 {
            for c in 0..<256 { XCTAssertEqual(o[row * 256 + c], (64..<128).contains(c) ? 0 : originalO[row * 256 + c]) }
        }
        let down = try file.floats("blk.0.ffn_down.weight")
        XCTAssertTrue((0..<256).allSatisfy { down[$0 * 256 + 3] == 0 && down[$0 * 256 + 7] == 0 && down[$0 * 256 + 4] != 0 })

        var sliced = base.tensors
        sliced["model.layers.3.mlp.gate_proj.weight"] = Tensor(floats: [Float](repeating: 0.1, count: 128 * 256), shape: [128, 256])
        XCTAssertThrowsError(try GGUFExport.write(MemoryStore(config: base.config, tensors: sliced), to: folder.file("s.gguf"), type: .f32, tokenizerFolder: nil)) {
            XCTAssertEqual("\($0)", "\(folder.file("s.gguf")): cannot write as GGUF: layer 3 has 4 heads and 128 MLP neurons, config.json says 4 and 256 (sliced pruning: llama.cpp needs the same widths in every layer)")
        }
        XCTAssertEqual(folder.contents, ["p.gguf"])
    }
}
