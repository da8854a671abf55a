import Kernels

extension TransformerModel {
    /// Every linear weight (block linears and the head, whatever their kind) in 2 MB pages
    /// (`backWithHugePages`): a decode step reads each of them once, so a KV cache asks for it when made.
    /// Returns the bytes collapsed.
    @discardableResult
    public func backWeightsWithHugePages() -> Int {
        var ranges: [(pointer: UnsafeRawPointer, bytes: Int)] = []
        func add<T>(_ a: [T]) { a.withUnsafeBytes { if let p = $0.baseAddress { ranges.append((p, $0.count)) } } }
        for l in layers.flatMap({ $0.linears.map(\.layer) }) + [head.lmHead].compactMap({ $0 }) {
            switch l {
            case let f as Linear: add(f.weight)
            case let h as HalfLinear: ranges.append((h.weight.storage.pointer, h.weight.storage.byteCount))
            case let q as W8A8Linear: add(q.weight)
            case let q as StaticW8A8Linear: add(q.weight)
            case let n as NF4Linear: add(n.weight.packed); add(n.weight.absmax)
            case let p as PackedLinear: add(p.weight.bytes)
            default: break
            }
        }
        return backWithHugePages(ranges)
    }
}
