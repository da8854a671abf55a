/// Scratch buffers reused by every layer of one forward, so a forward allocates each once
/// (large fresh allocations cost page faults on every layer otherwise).
final class Workspace {
    enum Slot: Int, CaseIterable { case normed, q, k, v, context, sublayer, gate, up }
    private var pointers: [UnsafeMutablePointer<Float>?] = Array(repeating: nil, count: Slot.allCases.count)
    private var capacities = [Int](repeating: 0, count: Slot.allCases.count)

    /// A buffer of at least `count` floats (contents unspecified).
    func buffer(_ slot: Slot, count: Int) -> UnsafeMutablePointer<Float> {
        let i = slot.rawValue
        if capacities[i] < count {
            pointers[i]?.deallocate()
            pointers[i] = .allocate(capacity: count)
            capacities[i] = count
        }
        return pointers[i]!
    }

    deinit { for p in pointers { p?.deallocate() } }
}
