import Tensors

/// Row/column selection and zeroing of stored 2-D tensors (and 1-D biases), keeping the stored dtype.
/// Selection and zeroing are exact in every float dtype (values round-trip through f32 unchanged).
enum TensorSlicing {
    static func selectRows(_ t: Tensor, _ keep: [Int]) -> Tensor {
        let cols = t.shape.count == 2 ? t.shape[1] : 1
        let v = t.floats()
        var out = [Float](); out.reserveCapacity(keep.count * cols)
        for r in keep { out.append(contentsOf: v[(r * cols)..<((r + 1) * cols)]) }
        return Tensor(floats: out, shape: t.shape.count == 2 ? [keep.count, cols] : [keep.count], dtype: t.dtype)
    }

    static func selectColumns(_ t: Tensor, _ keep: [Int]) -> Tensor {
        let (rows, cols) = (t.shape[0], t.shape[1])
        let v = t.floats()
        var out = [Float](); out.reserveCapacity(rows * keep.count)
        for r in 0..<rows { for c in keep { out.append(v[r * cols + c]) } }
        return Tensor(floats: out, shape: [rows, keep.count], dtype: t.dtype)
    }

    static func zeroRows(_ t: Tensor, _ rowsToZero: [Int]) -> Tensor {
        let cols = t.shape.count == 2 ? t.shape[1] : 1
        var v = t.floats()
        for r in rowsToZero { for c in 0..<cols { v[r * cols + c] = 0 } }
        return Tensor(floats: v, shape: t.shape, dtype: t.dtype)
    }

    static func zeroColumns(_ t: Tensor, _ colsToZero: [Int]) -> Tensor {
        let (rows, cols) = (t.shape[0], t.shape[1])
        var v = t.floats()
        for r in 0..<rows { for c in colsToZero { v[r * cols + c] = 0 } }
        return Tensor(floats: v, shape: t.shape, dtype: t.dtype)
    }

    static func zeros(like t: Tensor) -> Tensor {
        Tensor(floats: [Float](repeating: 0, count: t.elementCount), shape: t.shape, dtype: t.dtype)
    }

    /// Indices `[unit·width, (unit+1)·width)` of every unit in `units`.
    static func expand(_ units: [Int], width: Int) -> [Int] {
        units.flatMap { u in (u * width)..<((u + 1) * width) }
    }
}
