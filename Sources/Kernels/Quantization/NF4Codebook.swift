/// The 4-bit NormalFloat code of QLoRA (ALGORITHMS.md §5.1), exactly as bitsandbytes hard-codes it
/// (`bitsandbytes/functional.py`, `get_4bit_type("nf4")`). Index = 4-bit code.
public enum NF4 {
    public static let values: [Float] = [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ]

    /// The 15 decision boundaries, computed in Float32 as bitsandbytes does (`(code[:-1] + code[1:]) / 2`).
    /// A value x gets code #{m : m < x}, so a tie goes to the lower code (`torch.bucketize`, right=False).
    public static let midpoints: [Float] = (0..<15).map { (values[$0] + values[$0 + 1]) / 2 }

    /// Block sizes bitsandbytes accepts for 4-bit quantization.
    public static let validBlockSizes: [Int] = [32, 64, 128, 256, 512, 1024, 2048, 4096]

    /// Nearest code with ties to the lower code (the bucketize rule).
    @inline(__always)
    public static func code(_ x: Float) -> UInt8 {
        // Branch-free binary search over the 15 sorted midpoints: 4 comparisons.
        var c = 0
        c += x > midpoints[c + 7] ? 8 : 0
        c += x > midpoints[c + 3] ? 4 : 0
        c += x > midpoints[c + 1] ? 2 : 0
        c += x > midpoints[c] ? 1 : 0
        return UInt8(c)
    }
}
