import XCTest
import Passes
import TestSupport

/// The static W8A8 quantizers against PyTorch's torch.ao.quantization (observers, qparams, fake
/// quantization) and, for what torch.ao lacks (the MSE grid search), a NumPy implementation of
/// ALGORITHMS.md §3.5 (fixtures/quant/observers_reference.json from tools/reference/quant_observers.py).
final class QuantizationObserverTests: XCTestCase {
    var reference: [String: Any] = [:]

    override func setUpWithError() throws {
        reference = try Fixtures.readJSON(try Fixtures.required("quant/observers_reference.json",
                                                                  regenerate: "tools/reference/quant_observers.py")) as! [String: Any]
    }

    func floats(_ key: String) -> [Float] { (reference[key] as! [Double]).map(Float.init) }

    func testRunningRangesMatchNumPyForEveryObserver() {
        let batches = (reference["batches"] as! [[Double]]).map { $0.map(Float.init) }
        let expected = reference["observers"] as! [String: [[Double]]]
        for kind in ActivationObserverKind.allCases {
            var observer = RangeObserver(kind: kind, momentum: 0.9, percentile: 99.9)
            for (k, batch) in batches.enumerated() {
                observer.observe(batch)
                let e = expected[kind.rawValue]![k].map(Float.init)
                assertClose([observer.min!, observer.max!], e, atol: 0, rtol: 1e-6, "\(kind) after batch \(k)")
            }
        }
        // The outliers (≥ 9) are what the mse observer clips.
        XCTAssertLessThan(expected["mse"]!.last![1], expected["minmax"]!.last![1])
    }

    func testObserversQParamsAndFakeQuantizersMatchTorchAO() {
        let torch = reference["torch_ao"] as! [String: Any]
        let batches = (reference["batches"] as! [[Double]]).map { $0.map(Float.init) }
        for (kind, key) in [(ActivationObserverKind.minmax, "moving_average_minmax"), (.percentile, "percentile_torch_quantile")] {
            var observer = RangeObserver(kind: kind, momentum: 0.9, percentile: 99.9)
            for (k, batch) in batches.enumerated() {
                observer.observe(batch)
                let e = (torch[key] as! [[Double]])[k].map(Float.init)
                assertClose([observer.min!, observer.max!], e, atol: 0, rtol: 1e-6, "\(kind) vs torch.ao after batch \(k)")
            }
        }
        let p = StaticQuantizers.asymmetricParams(min: -2.5, max: 3.0)
        let qparams = torch["minmax_observer_quint8"] as! [Double]
        XCTAssertEqual(p.scale, Float(qparams[0])); XCTAssertEqual(p.zeroPoint, Float(qparams[1]))
        let x = floats("sample")
        XCTAssertEqual(x.map { StaticQuantizers.fakeQuantAsymmetric($0, p) }, (torch["fake_quant_asymmetric"] as! [Double]).map(Float.init))
        XCTAssertEqual(x.map { StaticQuantizers.fakeQuantSymmetric($0, alpha: 3) }, (torch["fake_quant_symmetric_alpha_3"] as! [Double]).map(Float.init))
    }

    func testFakeQuantizersMatchNumPy() {
        let x = floats("sample")
        let p = StaticQuantizers.asymmetricParams(min: -2.5, max: 3.0)
        let e = (reference["asymmetric_params"] as! [Double]).map(Float.init)
        XCTAssertEqual(p.scale, e[0])
        XCTAssertEqual(p.zeroPoint, e[1])
        XCTAssertEqual(x.map { StaticQuantizers.fakeQuantAsymmetric($0, p) }, floats("fake_quant_asymmetric"))
        XCTAssertEqual(x.map { StaticQuantizers.fakeQuantSymmetric($0, alpha: 3) }, floats("fake_quant_symmetric_alpha_3"))
    }

    func testMSEGridSearchPicksTheSameWeightRangeAsNumPy() {
        let w = floats("weight")
        let alpha = StaticQuantizers.mseSymmetricAlpha(w)
        XCTAssertEqual(alpha, Float(reference["mse_symmetric_alpha"] as! Double))
    }
}
