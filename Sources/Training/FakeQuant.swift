import Kernels
import Models

extension Tape {
    /// Fake quantization with a straight-through gradient (QAT), the `Kernels` quantizer as a site
    /// transform (`SiteTransform.fakeQuantize`) so what is trained is what an exporter writes.
    public func fakeQuantize(_ w: Variable, _ quantizer: Quantizer) -> Variable {
        transform(w, .fakeQuantize(quantizer), shape: w.shape)
    }
}
