import Checkpoints
import Models
import TestSupport
import XCTest

/// One fixture case from tools/reference/models_reference.py: a checkpoint folder plus
/// `reference.safetensors` (inputs, `output`, `capture.<layer>.<point>`, optional masks).
struct ReferenceCase {
    let folder: String
    let reference: SafetensorsFile

    init(_ name: String) throws {
        folder = Fixtures.path("models-reference/\(name)")
        reference = try ReferenceCase.open(folder + "/reference.safetensors")
    }

    static func open(_ path: String) throws -> SafetensorsFile {
        guard FileManager.default.fileExists(atPath: path) else {
            throw Fixtures.MissingFixture(path: path, regenerate: "/root/venv/bin/python tools/reference/models_reference.py")
        }
        return try SafetensorsFile(path: path)
    }

    static func rows(_ file: SafetensorsFile, _ name: String) throws -> [[Float]]? {
        guard file.contains(name) else { return nil }
        let t = try file.tensor(name)
        let values = t.floats(), cols = t.shape[1]
        return stride(from: 0, to: values.count, by: cols).map { Array(values[$0..<($0 + cols)]) }
    }

    static func input(_ file: SafetensorsFile) throws -> ModelInput {
        func ints(_ name: String) throws -> [[Int]]? { try rows(file, name).map { $0.map { $0.map { Int($0) } } } }
        return ModelInput(tokens: try ints("input_ids")!, tokenTypes: try ints("token_type_ids"), attentionMask: try ints("attention_mask"))
    }

    func matrix(_ name: String) throws -> [[Float]]? { try ReferenceCase.rows(reference, name) }

    func expected(_ name: String) throws -> (values: [Float], shape: [Int]) {
        let t = try reference.tensor(name)
        return (t.floats(), t.shape)
    }

    /// Captures present in the reference, as (key, tensor name).
    var captureKeys: [(CaptureKey, String)] {
        reference.names.compactMap { name in
            let parts = name.split(separator: ".")
            guard parts.count == 3, parts[0] == "capture", let layer = Int(parts[1]),
                  let point = CapturePoint(rawValue: String(parts[2])) else { return nil }
            return (CaptureKey(layer: layer, point: point), name)
        }
    }

    /// Runs the checkpoint with `options` (capturing `points`) and compares output and captures.
    func check(options base: ForwardOptions = ForwardOptions(), points: Set<CapturePoint> = Set(CapturePoint.allCases),
               atol: Float, file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try TransformerModel.load(from: try Checkpoint(path: folder))
        var options = base
        options.capture = points
        let out = try model.forward(try ReferenceCase.input(reference), options: options)
        let expected = try expected("output")
        XCTAssertEqual(out.shape, expected.shape, "output shape", file: file, line: line)
        assertClose(out.logits, expected.values, atol: atol, "output", file: file, line: line)
        var compared = 0
        for (key, name) in captureKeys where points.contains(key.point) {
            let want = try self.expected(name)
            guard let got = out.captures[key] else { XCTFail("missing capture \(name)", file: file, line: line); continue }
            XCTAssertEqual(got.shape, want.shape, name, file: file, line: line)
            assertClose(got.values, want.values, atol: atol, name, file: file, line: line)
            compared += 1
        }
        XCTAssertGreaterThan(compared, 0, "no captures compared", file: file, line: line)
    }
}
