/// `body` with the base address of every array (each valid for the call): the weights of several linears
/// handed to one CSIMD job (`gemvForward`, `nf4LinearsForward`, Models' `fusedLinearForward`).
public func withPointers<T, R>(_ arrays: [[T]], _ body: ([UnsafePointer<T>]) -> R) -> R {
    var pointers: [UnsafePointer<T>] = []
    func nest(_ i: Int) -> R {
        if i == arrays.count { return body(pointers) }
        return arrays[i].withUnsafeBufferPointer { pointers.append($0.baseAddress!); return nest(i + 1) }
    }
    return nest(0)
}
