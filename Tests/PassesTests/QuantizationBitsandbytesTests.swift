import XCTest
import Checkpoints
import Kernels
import Tensors
import TestSupport

/// NF4 against bitsandbytes 0.50 `quantize_4bit` / `dequantize_4bit` on CPU
/// (fixtures/quant/nf4_reference.safetensors from tools/reference/quant_reference.py).
final class QuantizationBitsandbytesTests: XCTestCase {
    static let file = try! SafetensorsFile(path: Fixtures.path("quant/nf4_reference.safetensors"))
    static let cases = ["odd_f32", "zero_block_f32", "tail_zero_f32", "outliers_f32_b32", "f16_b128", "bf16_b64",
                        "many_blocks_f32", "b4096_f32", "worked_example"]

    /// Nil when equal, else the count of differing elements and the first one (keeps failures short).
    func difference<T: Equatable>(_ a: [T], _ b: [T]) -> String? {
        guard a.count == b.count else { return "count \(a.count) != \(b.count)" }
        let bad = a.indices.filter { a[$0] != b[$0] }
        guard let first = bad.first else { return nil }
        return "\(bad.count) of \(a.count) differ; first at [\(first)]: \(a[first]) vs \(b[first])"
    }

    func assertSame<T: Equatable>(_ a: [T], _ b: [T], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        if let d = difference(a, b) { XCTFail("\(what): \(d)", file: file, line: line) }
    }

    func tensor(_ name: String) throws -> Tensor { try Self.file.tensor(name) }
    func bytes(_ name: String) throws -> [UInt8] { Array(try tensor(name).bytes) }

    func blockSize(_ name: String) throws -> Int {
        let meta = try JSONSerialization.jsonObject(with: Data(Self.file.metadata["meta"]!.utf8)) as! [String: Any]
        return ((meta["cases"] as! [String: Any])[name] as! [String: Any])["block_size"] as! Int
    }

    func testTablesEqualBitsandbytes() throws {
        XCTAssertEqual(try tensor("table.nf4").floats(), NF4.values)
        XCTAssertEqual(try tensor("table.dynamic8").floats(), Dynamic8.values)
    }

    func testPackedBytesAndAbsmaxEqualBitsandbytesExactly() throws {
        for name in Self.cases {
            let input = try tensor("\(name).input")
            let q = NF4Tensor.quantize(input, blockSize: try blockSize(name), doubleQuant: false)
            assertSame(q.packed, try bytes("\(name).packed"), "\(name): packed codes")
            XCTAssertEqual(try tensor("\(name).packed").shape, [(input.elementCount + 1) / 2, 1], "\(name): bnb packed shape")
            guard case let .plain(absmax) = q.absmax else { return XCTFail() }
            assertSame(absmax, try tensor("\(name).absmax").floats(), "\(name): absmax (bit-exact)")
        }
    }

    func testNaiveTwinEqualsBitsandbytes() throws {
        for name in Self.cases {
            let values = try tensor("\(name).input").floats()
            let bs = try blockSize(name)
            var packed = [UInt8](repeating: 0, count: (values.count + 1) / 2)
            var absmax = [Float](repeating: 0, count: (values.count + bs - 1) / bs)
            nf4QuantizeNaive(packed: &packed, absmax: &absmax, input: values, count: values.count, blockSize: bs)
            assertSame(packed, try bytes("\(name).packed"), name)
            assertSame(absmax, try tensor("\(name).absmax").floats(), name)
        }
    }

    func testDequantizedValuesEqualBitsandbytesExactly() throws {
        for name in Self.cases {
            let input = try tensor("\(name).input")
            let q = NF4Tensor.quantize(input, blockSize: try blockSize(name), doubleQuant: false)
            let expected = try tensor("\(name).dequant")
            let ours = q.dequantizedTensor()
            XCTAssertEqual(ours.dtype, expected.dtype, name)
            assertSame(ours.floats(), expected.floats(), "\(name): dequantized (bit-exact)")
        }
    }

    /// bitsandbytes' CPU 8-bit kernel is not always nearest (fixture meta: `dynamic8.bnb_not_nearest`);
    /// our code must equal its code, or be strictly nearer where it is not.
    func assertCodesMatchOrNearer(_ ours: [UInt8], _ bnb: [UInt8], values: [Float], _ what: String) {
        var differing = 0
        for i in values.indices where ours[i] != bnb[i] {
            differing += 1
            let x = values[i]
            let mine = abs(x - Dynamic8.values[Int(ours[i])]), theirs = abs(x - Dynamic8.values[Int(bnb[i])])
            XCTAssertLessThan(mine, theirs, "\(what)[\(i)]: x \(x), ours \(ours[i]), bnb \(bnb[i])")
        }
        XCTAssertLessThanOrEqual(differing, values.count / 100 + 1, "\(what): \(differing) codes differ")
    }

    func testDynamic8CodesAreBitsandbytesOrStrictlyNearer() throws {
        let x = try tensor("dynamic8.input").floats()
        var codes = [UInt8](repeating: 0, count: x.count)
        var absmax = [Float](repeating: 0, count: x.count / 256)
        dynamic8Quantize(codes: &codes, absmax: &absmax, input: x, count: x.count, blockSize: 256)
        XCTAssertEqual(absmax, [Float](repeating: 1, count: absmax.count))
        let bnb = try bytes("dynamic8.bnb_codes")
        assertCodesMatchOrNearer(codes, bnb, values: x, "dynamic8")
        XCTAssertEqual(zip(codes, bnb).filter { $0 != $1 }.count, 17, "the fixture's count of bnb non-nearest codes")
    }

    func testDoubleQuantNestedAbsmaxAndCodesMatchBitsandbytesGivenItsOffset() throws {
        for name in Self.cases {
            let absmax = try tensor("\(name).absmax").floats()
            let offset = try tensor("\(name).dq.offset").floats()[0]
            let dq = DoubleQuantizedAbsmax(absmax: absmax, offset: offset)
            assertSame(dq.nestedAbsmax, try tensor("\(name).dq.nested_absmax").floats(), "\(name): nested absmax (bit-exact)")
            let normalized = absmax.enumerated().map { (i, a) in (a - offset) / dq.nestedAbsmax[i / 256] }
            assertCodesMatchOrNearer(dq.codes, try bytes("\(name).dq.absmax_q8"), values: normalized, name)
        }
    }

    func testDoubleQuantDequantizationEqualsBitsandbytesExactly() throws {
        for name in Self.cases {
            let input = try tensor("\(name).input")
            let dq = DoubleQuantizedAbsmax(codes: try bytes("\(name).dq.absmax_q8"),
                                           nestedAbsmax: try tensor("\(name).dq.nested_absmax").floats(),
                                           offset: try tensor("\(name).dq.offset").floats()[0])
            assertSame(dq.dequantized(), try tensor("\(name).dq.absmax_dequant").floats(), "\(name): absmax after DQ")
            let q = NF4Tensor(shape: input.shape, originalDType: input.dtype, blockSize: try blockSize(name),
                              packed: try bytes("\(name).packed"), absmax: .double(dq))
            assertSame(q.dequantizedTensor().floats(), try tensor("\(name).dq.dequant").floats(), "\(name): dequant")
        }
    }

    func testOffsetIsTheMeanWithinOneUlp() throws {
        for name in Self.cases {
            let absmax = try tensor("\(name).absmax").floats()
            let expected = try tensor("\(name).dq.offset").floats()[0]
            let ours = DoubleQuantizedAbsmax(absmax: absmax).offset
            XCTAssertLessThanOrEqual(abs(ours - expected), expected.ulp, "\(name): offset \(ours) vs bnb \(expected)")
        }
    }
}
