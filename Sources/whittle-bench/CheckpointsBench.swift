import Foundation
import Whittle

// Checkpoints suite: streaming read → convert → write of a ≥1 GB checkpoint as a ratio of memcpy
// bandwidth, and the peak RSS of a streaming copy of a 2 GB checkpoint (measured in a child process
// so the parent's own allocations do not count). Scratch files live in $WHITTLE_BENCH_TMP or /tmp.

private let childVariable = "WHITTLE_BENCH_COPY_CHILD"

func runCheckpointsBench() throws {
    if let job = ProcessInfo.processInfo.environment[childVariable] { try copyChild(job); exit(0) }
    let scratch = (ProcessInfo.processInfo.environment["WHITTLE_BENCH_TMP"] ?? "/tmp") + "/whittle-bench-checkpoints-\(getpid())"
    try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    let memory = "/dev/shm/whittle-bench-checkpoints-\(getpid())"
    let haveShm = (try? FileManager.default.createDirectory(atPath: memory, withIntermediateDirectories: true)) != nil
    defer { try? FileManager.default.removeItem(atPath: memory) }

    let memcpy = memcpyBandwidth()
    print(String(format: "memcpy bandwidth: %.2f GB/s (ceiling)", memcpy))
    conversionKernelRates(memcpy: memcpy)
    if ProcessInfo.processInfo.environment["WHITTLE_BENCH_KERNELS_ONLY"] != nil { return }

    // 1 GiB BF16 and 1 GiB F32 sources: 16 tensors of 64 MiB, written by our writer.
    let bf16 = scratch + "/bf16.safetensors", f32 = scratch + "/f32.safetensors"
    var seconds = try timed { try writeSynthetic(to: bf16, dtype: .BF16, tensors: 16, elements: 32 << 20) }
    print(String(format: "write 1 GiB BF16 (fill + convert + write + fsync): %.2f s", seconds))
    seconds = try timed { try writeSynthetic(to: f32, dtype: .F32, tensors: 16, elements: 16 << 20) }
    print(String(format: "write 1 GiB F32: %.2f s", seconds))

    // read + convert (through f32) + write back: into page cache (/dev/shm) — the pipeline itself —
    // and onto disk with fsync (adds the device's write speed). Two ceilings measured beside each
    // job, best of 3 alternating with it: memcpy of the same bytes (in memory), and the I/O alone —
    // pread(2) of the input file into a buffer, then write(2) of the job's output bytes from a ready
    // buffer into the same folder with fsync: what any program doing this job pays the kernel.
    // CPU time beside wall time: the machine is shared.
    print("load average: \(loadAverage())")
    let jobs: [(String, String, DType, Bool)] = [
        ("BF16 → F32", bf16, .F32, true), ("BF16 → F16", bf16, .F16, true), ("F32 → BF16", f32, .BF16, true),
        ("BF16 → F16", bf16, .F16, false),
    ]
    print("| job | into | in GB | out GB | wall s | CPU s | in GB/s | × memcpy (in+out)/2 | I/O alone s | × I/O alone |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (label, source, target, inMemory) in jobs where !inMemory || haveShm {
        let input = try Checkpoint(path: source)
        let folder = inMemory ? memory : scratch
        let out = folder + "/out.safetensors"
        let outBytes = input.names.reduce(0) { total, name in
            let info = input.info(name)!
            return total + info.shape.reduce(1, *) * (info.dtype.isFloatingPoint ? target.byteSize : info.dtype.byteSize)
        }
        var best = (wall: Double.infinity, cpu: 0.0), ceiling = Double.infinity
        for _ in 0..<3 {
            let run = try bestOf(1) { try input.copyWeights(to: out, convertingFloatsTo: target) }
            if run.wall < best.wall { best = run }
            try? FileManager.default.removeItem(atPath: out)
            ceiling = min(ceiling, try readSeconds(source) + writeCeilingSeconds(bytes: outBytes, to: folder + "/ceiling.bin"))
        }
        let inRate = Double(input.byteCount) / best.wall / 1e9
        let traffic = Double(input.byteCount + outBytes) / 2 / best.wall / 1e9
        print(String(format: "| %@ | %@ | %.2f | %.2f | %.2f | %.2f | %.2f | %.3f× | %.2f | %.2f× |", label,
                     inMemory ? "page cache (/dev/shm)" : "disk (/tmp, fsync)", Double(input.byteCount) / 1e9, Double(outBytes) / 1e9,
                     best.wall, best.cpu, inRate, traffic / memcpy, ceiling, ceiling / best.wall))
    }
    if haveShm { try pythonPeer(source: bf16, folder: memory) }
    // Models convert whole tensors to [Float] first: the same job with a materialised f32 array per tensor.
    let input = try Checkpoint(path: bf16)
    if haveShm {
        let out = memory + "/materialised.safetensors"
        let specs = input.names.map { TensorSpec(name: $0, dtype: .F16, shape: input.info($0)!.shape) }
        let (wall, cpu) = try bestOf(2) {
            try SafetensorsWriter.write(to: out, specs: specs) { spec in
                Tensor(floats: try input.tensor(spec.name).floats(), shape: spec.shape, dtype: .F16)
            }
        }
        try? FileManager.default.removeItem(atPath: out)
        let rate = Double(input.byteCount) / wall / 1e9
        print(String(format: "BF16 → [Float] per tensor → F16 into page cache: %.2f GB/s = %.2f× memcpy (wall %.2f s, CPU %.2f s)",
                     rate, rate / memcpy, wall, cpu))
    }
    try? FileManager.default.removeItem(atPath: f32)

    // Peak RSS of a streaming copy of a 2 GiB checkpoint (F32, 8 × 128 MiB + 1 × 512 MiB + 512 × 1 MiB).
    let big = scratch + "/big.safetensors"
    try writeSynthetic(to: big, dtype: .F32, tensors: 8, elements: 32 << 20, extra: [("embed", 128 << 20)] + (0..<512).map { ("small.\($0)", 1 << 18) })
    let size = Double((try FileManager.default.attributesOfItem(atPath: big)[.size] as? Int) ?? 0)
    for (label, job) in [("plain copy", "copy"), ("copy converting to BF16", "bf16")] {
        let report = try runChild(job: job + " " + big + " " + scratch + "/copy.safetensors")
        print(String(format: "streaming %@ of a %.2f GB checkpoint: %@", label, size / 1e9, report))
        try? FileManager.default.removeItem(atPath: scratch + "/copy.safetensors")
    }
}

/// Seconds to pread(2) the whole file at `path` (in the page cache) into an 8 MiB buffer.
func readSeconds(_ path: String) throws -> Double {
    let chunk = 8 << 20
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
    defer { buffer.deallocate() }
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw CocoaError(.fileReadUnknown) }
    defer { close(fd) }
    return timed {
        var offset = 0
        while case let n = pread(fd, buffer, chunk, off_t(offset)), n > 0 { offset += n }
    }
}

/// Seconds to write(2) `bytes` from a ready 8 MiB buffer into a new file at `path`, then fsync —
/// the kernel's share of writing any file of that size there.
func writeCeilingSeconds(bytes: Int, to path: String) throws -> Double {
    let chunk = 8 << 20
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
    defer { buffer.deallocate(); unlink(path) }
    memset(buffer, 7, chunk)
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
    defer { close(fd) }
    return try timed {
        var left = bytes
        while left > 0 {
            let n = write(fd, buffer, min(chunk, left))
            guard n > 0 else { throw CocoaError(.fileWriteUnknown) }
            left -= n
        }
        fsync(fd)
    }
}

/// The same BF16 → F32 job in Python (`safetensors.torch.load_file` → `.float()` → `save_file`),
/// tools/bench_checkpoints_peer.py, when the venv is there.
private func pythonPeer(source: String, folder: String) throws {
    let python = ProcessInfo.processInfo.environment["WHITTLE_PYTHON"] ?? "/root/venv/bin/python"
    guard FileManager.default.fileExists(atPath: python) else { print("python peer skipped: \(python) not found"); return }
    let input = try Checkpoint(path: source)
    let out = folder + "/peer.safetensors"
    var ours = Double.infinity
    for _ in 0..<3 {
        ours = min(ours, try timed { try input.copyWeights(to: out, convertingFloatsTo: .F32) })
        try? FileManager.default.removeItem(atPath: out)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["tools/bench_checkpoints_peer.py", source, out]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    try? FileManager.default.removeItem(atPath: out)
    guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("seconds ") }), let peer = Double(line.dropFirst(8)) else {
        print("python peer failed: \(text)"); return
    }
    print(String(format: "BF16 → F32 into page cache, Python safetensors + torch (best of 3): %.2f s; whittle %.2f s → %.2f× faster", peer, ours, peer / ours))
}

/// Child process: copies SOURCE to DEST and prints its peak RSS (VmHWM) before and after.
private func copyChild(_ job: String) throws {
    let parts = job.split(separator: " ").map(String.init)
    let before = Double(peakRSSBytes() ?? 0)
    let source = try Checkpoint(path: parts[1])
    let s = try timed { try source.copyWeights(to: parts[2], convertingFloatsTo: parts[0] == "bf16" ? .BF16 : nil) }
    let after = Double(peakRSSBytes() ?? 0)
    print(String(format: "peak RSS %.0f MB (process baseline %.0f MB, so +%.0f MB for the copy), %.2f GB/s",
                 after / 1e6, before / 1e6, (after - before) / 1e6, Double(source.byteCount) / s / 1e9))
}

private func runChild(job: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    process.arguments = ["checkpoints"]
    process.environment = ProcessInfo.processInfo.environment.merging([childVariable: job]) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let lines = String(decoding: output, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("peak RSS") }
    return lines.last.map(String.init) ?? "child failed (status \(process.terminationStatus))"
}

/// Writes `tensors` tensors of `elements` values each (plus `extra` named sizes) with a cheap
/// deterministic pattern, streaming one tensor at a time.
private func writeSynthetic(to path: String, dtype: DType, tensors: Int, elements: Int, extra: [(String, Int)] = []) throws {
    let sizes = (0..<tensors).map { ("layers.\($0).weight", elements) } + extra
    let specs = sizes.map { TensorSpec(name: $0.0, dtype: dtype, shape: [$0.1 / 1024, 1024]) }
    try SafetensorsWriter.write(to: path, specs: specs, metadata: ["format": "pt", "generator": "whittle-bench checkpoints"]) { spec in
        let n = spec.shape.reduce(1, *)
        let seed = Float(spec.name.utf8.reduce(0) { $0 &+ Int($1) } % 97)
        let values = [Float](unsafeUninitializedCapacity: n) { buffer, count in
            for i in 0..<n { buffer[i] = Float(i & 1023) * 0.001 - 0.5 + seed * 1e-3 }
            count = n
        }
        return Tensor(floats: values, shape: spec.shape, dtype: dtype)
    }
}

/// Best wall time of `runs` runs, with the CPU time (user + system, all threads) of that run.
private func bestOf(_ runs: Int, _ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
    var best = (wall: Double.infinity, cpu: 0.0)
    for _ in 0..<runs {
        let c0 = cpuSeconds()
        let wall = try timed(body)
        if wall < best.wall { best = (wall, cpuSeconds() - c0) }
    }
    return best
}

private func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

private func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
}

private func timed(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

/// The conversion kernels alone, in memory (no file system): 64 MiB of input converted
/// `from` → `to`, best of 5, as input bytes per second, on one thread and on all cores.
func conversionKernelRates(memcpy: Double) {
    let n = 32 << 20
    for (from, to) in [(DType.BF16, DType.F32), (.F16, .F32), (.F32, .BF16), (.F32, .F16), (.BF16, .F16)] {
        let src = UnsafeMutableRawBufferPointer.allocate(byteCount: n * from.byteSize, alignment: 64)
        let dst = UnsafeMutableRawBufferPointer.allocate(byteCount: n * to.byteSize, alignment: 64)
        defer { src.deallocate(); dst.deallocate() }
        let floats = (0..<4096).map { Float($0) * 0.37 - 700 }
        for i in stride(from: 0, to: n, by: 4096) {
            floats.withUnsafeBufferPointer { f in
                DTypeConversion.store(f, as: from, into: UnsafeMutableRawBufferPointer(rebasing: src[(i * from.byteSize)..<((i + 4096) * from.byteSize)]))
            }
        }
        memset(dst.baseAddress!, 0, dst.count)
        var rates: [Double] = []
        for threshold in [Int.max, 1 << 20] {
            let saved = DTypeConversion.parallelThreshold
            DTypeConversion.parallelThreshold = threshold
            var best = Double.infinity
            for _ in 0..<5 { best = min(best, timed { DTypeConversion.convert(UnsafeRawBufferPointer(src), from: from, into: dst, to: to) }) }
            DTypeConversion.parallelThreshold = saved
            rates.append(Double(src.count) / best / 1e9)
        }
        print(String(format: "kernel %@ → %@ in memory: 1 thread %.2f GB/s of input = %.2f× memcpy; all cores %.2f GB/s = %.2f×",
                     from.rawValue, to.rawValue, rates[0], rates[0] / memcpy, rates[1], rates[1] / memcpy))
    }
}
