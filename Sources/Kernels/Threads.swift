import COpenBLAS

/// Threads used by OpenBLAS (and by our own parallel loops through `Threads.count`).
public enum Threads {
    public private(set) static var count: Int = Int(openblas_get_num_threads())

    public static func set(_ n: Int) {
        precondition(n >= 1)
        openblas_set_num_threads(Int32(n))
        count = n
    }
}
