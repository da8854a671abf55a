import Checkpoints
import Foundation
import Kernels
import Models
@testable import Passes
import Tensors
import TestSupport
import Training
import XCTest

/// The `qat` pass's export (ALGORITHMS.md §4; docs/ARCHITECTURE.md "Packed low-bit weights"): the
/// student written packed (ternary, 2-, 4-bit) or in the int8 layout (8-bit), read back from disk by
/// `loadCompressed`, computes what the fake-quantized student computed in training — bit for bit on
/// the dequantized path, and within float summation order on the packed ternary kernel.
final class QuantizationAwarePackedExportTests: XCTestCase {
    let input = ModelInput(tokens: [[1, 5, 9, 17, 3, 22, 8], [1, 30, 2, 2, 11, 39, 4]])

    func fixture(_ name: String = "bert_classifier") throws -> EditableCheckpoint {
        let folder = try Fixtures.required("training/\(name)/config.json", regenerate: "/root/venv/bin/python tools/reference/training_reference.py")
        return EditableCheckpoint(source: try Checkpoint(path: String(folder.dropLast("/config.json".count))))
    }

    /// Writes the fixture's weights as a `bits` student; returns the fake-quant logits and the folder.
    func export(_ bits: String, model name: String = "bert_classifier", quantized: Int = 14) throws -> (fakeQuant: [Float], folder: String) {
        let store = try fixture(name)
        let pass = try JSONDecoder().decode(QuantizationAwareTraining.self, from: Data(#"{"pass": "qat", "bits": \#(bits)}"#.utf8))
        let student = try TransformerModel.load(from: store)
        let fakeQuant = try pass.withFakeQuantizedTables(student) { try student.forward(input, options: pass.quantization.options).logits }
        let changes = try pass.writePacked(try TrainableModel(student), into: store)
        XCTAssertEqual(changes.filter { $0.bitsPerWeight != nil }.count, quantized, "block projections, the word embedding (and the pooler)")
        let folder = NSTemporaryDirectory() + "whittle-qat-packed-\(getpid())-\(name)-\(bits.filter(\.isLetter))\(bits.filter(\.isNumber))"
        try CheckpointFolderWriter.write(store, to: folder)
        return (fakeQuant, folder)
    }

    func testEveryWidthLoadsToTheFakeQuantLogitsBitForBit() throws {
        for bits in [#""ternary""#, "2", "4", "8"] {
            let (fakeQuant, folder) = try export(bits)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let exact = try TransformerModel.loadCompressed(from: try Checkpoint(path: folder), packedKernels: false)
            XCTAssertEqual(try exact.forward(input).logits, fakeQuant, "\(bits): dequantized weights + the recorded activation quantization")
            let runtime = try TransformerModel.loadCompressed(from: try Checkpoint(path: folder))
            let packed = runtime.layers.flatMap(\.linears).filter { $0.layer is PackedLinear }.count
            let logits = try runtime.forward(input).logits
            if bits == "4" || bits == "8" {
                XCTAssertEqual(packed, 0, "\(bits)-bit runs dequantized")
                XCTAssertEqual(logits, fakeQuant, "\(bits)-bit runtime")
            } else {
                XCTAssertEqual(packed, 12, "\(bits): every block projection on the packed kernel")
                assertClose(logits, fakeQuant, atol: 2e-5, rtol: 2e-5, "\(bits): packed kernel (exact integer sums, one scale)")
                for b in 0..<2 {
                    let row = Array(logits[(3 * b)..<(3 * b + 3)]), ref = Array(fakeQuant[(3 * b)..<(3 * b + 3)])
                    XCTAssertEqual(row.firstIndex(of: row.max()!), ref.firstIndex(of: ref.max()!), "\(bits): same prediction")
                }
            }
        }
    }

    /// A decoder (Llama, GQA, SwiGLU): the written ternary student, dequantized, gives the fake-quant
    /// logits bit for bit. On the packed kernel the sums are exact integers scaled once where sgemm
    /// rounds as it adds, so a later 8-bit activation quantizer can round a near-tie one code the
    /// other way: here layer 0 agrees to 2e-7, layer 1's k and v scales move by an ulp, and its outputs
    /// by up to 0.011 (one code of a context value); the BERT fixture happens to have no such flip.
    func testDecoderStudentLoadsToTheFakeQuantLogits() throws {
        let (fakeQuant, folder) = try export(#""ternary""#, model: "llama_gqa", quantized: 15)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        XCTAssertEqual(try TransformerModel.loadCompressed(from: try Checkpoint(path: folder), packedKernels: false).forward(input).logits, fakeQuant)
        let runtime = try TransformerModel.loadCompressed(from: try Checkpoint(path: folder))
        XCTAssertEqual(runtime.layers.flatMap(\.linears).filter { $0.layer is PackedLinear }.count, 14)
        assertClose(try runtime.forward(input).logits, fakeQuant, atol: 0.03, "decoder on the packed kernel (one-code flips downstream)")
    }

    func testLayoutOnDiskAndTheWhittleSection() throws {
        let (_, folder) = try export(#""ternary""#)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let disk = try Checkpoint(path: folder)
        let q = "bert.encoder.layer.1.intermediate.dense.weight"   // [32, 16]
        XCTAssertEqual(disk.spec(q)?.dtype, .U8)
        XCTAssertEqual(disk.spec(q)?.shape, [32, 32], "16 columns: one 128-column group of 32 bytes per row")
        XCTAssertEqual(disk.spec(q + ".scales")?.shape, [1])
        XCTAssertEqual(disk.spec("bert.embeddings.word_embeddings.weight.scales")?.shape, [40], "per row")
        XCTAssertEqual(disk.spec("classifier.weight")?.dtype, .F32, "the classifier stays float")
        let section = try XCTUnwrap(WhittleConfig.read(from: disk.config).quantization)
        XCTAssertEqual(section.format, "whittle-packed")
        XCTAssertEqual(section.weights[q], .init(quantizer: .ternary(.tensor, clip: 2.5), shape: [32, 16]))
        XCTAssertEqual(section.activations, .symmetric(bits: 8, .tensor, clip: 2.5))
        XCTAssertEqual(Set(section.activationSites), StudentQuantization.linearInputs.union(StudentQuantization.attentionValues))
        // The codes on disk are the quantizer's codes of the values the loader presents.
        let store = try QuantizedTensorStore(disk)
        let w = try store.tensor(q).floats()
        XCTAssertEqual(Quantizer.ternary(.tensor, clip: 2.5).quantize(w, rows: 32, cols: 16).codes, try store.packedWeight(q).codes.codes())
    }

    func testMalformedPackedCheckpointsAreNamed() throws {
        let (_, folder) = try export("2")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let name = "bert.encoder.layer.0.attention.self.query.weight"
        let noScales = EditableCheckpoint(source: try Checkpoint(path: folder))
        noScales.remove(name + ".scales")
        XCTAssertThrowsError(try TransformerModel.loadCompressed(from: noScales)) {
            XCTAssertEqual($0 as? QuantizedCheckpointError, .invalidQuantState(tensor: name + ".scales", reason: "missing (the scales of a packed weight)"))
        }
        let wrong = EditableCheckpoint(source: try Checkpoint(path: folder))
        wrong.set(name, Tensor(floats: [Float](repeating: 0, count: 16 * 16), shape: [16, 16]))
        XCTAssertThrowsError(try TransformerModel.loadCompressed(from: wrong)) {
            XCTAssertEqual($0 as? QuantizedCheckpointError, .invalidQuantState(tensor: name, reason: "packed 2-bit codes of [16, 16] must be U8 [16, 32], found F32 [16, 16]"))
        }
        let format = EditableCheckpoint(source: try Checkpoint(path: folder))
        var whittle = format.config["whittle"] as! [String: Any], section = whittle["quantization"] as! [String: Any]
        section["format"] = "gptq"; whittle["quantization"] = section; format.config["whittle"] = whittle
        XCTAssertThrowsError(try TransformerModel.loadCompressed(from: format)) {
            XCTAssertEqual("\($0)", "config.json quantization_config: whittle.quantization.format 'gptq' is not supported; expected \"whittle-packed\" (or \"compressed-tensors\" with its quantization_config)")
        }
    }
}
