#!/usr/bin/env python3
"""GGUF writing speed against llama.cpp's `llama-quantize`, same model, same machine, same run
(BENCHMARKS.md, "GGUF writing", Speed).

Ours: `compress convert DIR --output x.gguf --type T` from the Hugging Face folder (safetensors in,
tokenizer.json → metadata, quantize, write — direct I/O since branch gguf-q4 —, fsync, rename). Theirs: `llama-quantize F32.gguf x.gguf T
2` from the F32 GGUF that llama.cpp's own converter made of the same folder (no fsync). Both on 2
threads, alternating (the order flips every run), after one untimed warm-up each so both inputs are in
the page cache. Per run: wall seconds, user and system CPU seconds and peak RSS of the child
(/usr/bin/time, 10 ms resolution), and the 1-minute load average (the machine is shared: wall times are noisy, CPU times
less so). params/s = parameters / wall seconds. Prints a JSON line per run and a summary (min /
median / max), and how many tensors of our file are byte-identical to llama-quantize's file of the
same run.

Reading: `compress convert x.gguf --output DIR` (GGUF → Hugging Face folder, F32 safetensors; for our
Q8_0/Q4_0 files and the shipped SmolLM2 Q4_1 file) against the I/O limit of the same job.

The I/O limit (`IO_LIMIT` below, one child process, timed like the others): read the input file with
read(2) into one reused 8 MB buffer, then write(2) as many bytes as the job's output from one reused
8 MB buffer (non-zero bytes) to a new file in the output's folder, fsync it, and delete it — the bytes
any converter must read and write, with no work on them. For reading it is also run with each 8 MB
block's disk write started as soon as it is written (sync_file_range, "early writeback", what our
writer does since branch gguf-speed), so the fsync at the end waits for the tail only. Reported for reading (GGUF → folder) and, as
context, for writing (F32 safetensors → GGUF): ratio = I/O-limit seconds / our seconds (1.0 = at the limit).

Run: /root/venv/bin/python tools/bench_gguf_peer.py [--runs 5] [--types q8_0,q4_0] [--out /tmp/gguf-speed-bench] [--results FILE]
(a larger model: tools/bench/llama_shape_f32.py, then --model /tmp/whittle-bench-llama-0.6b-f32 --f32 /tmp/whittle-bench-llama-0.6b-f32.gguf
--types q4_0,q8_0,q4_k_m --skip-read)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LLAMA = os.environ.get("WHITTLE_LLAMA_CPP", "/tmp/whittle-llamacpp/llama.cpp")
BIN = os.path.join(LLAMA, "build", "bin")
COMPRESS = os.environ.get("WHITTLE_COMPRESS", os.path.join(ROOT, ".build", "release", "compress"))   # a copy, to bench while building


def measure(cmd, env=None):
    """Wall, user, sys seconds and peak RSS (MB) of one child, as /usr/bin/time reports them (its
    own small process forks the child, so the RSS is the child's alone, not this Python's)."""
    report = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bench_gguf_peer.{os.getpid()}.time")
    p = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", report] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=env)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.decode(errors='replace')[-2000:]}")
    wall, user, system, rss = open(report).read().split()[-4:]
    os.remove(report)
    return {"wall": float(wall), "user": float(user), "sys": float(system), "rss_mb": int(rss) / 1024,
            "load": os.getloadavg()[0]}


IO_LIMIT = """
import ctypes, os, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
early = len(sys.argv) > 4   # start each block's disk write at once (sync_file_range), as our OutputFile does
libc = ctypes.CDLL(None, use_errno=True)
libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
buf = bytearray(8 << 20)
with open(src, "rb", buffering=0) as f:
    while f.readinto(buf):
        pass
out = b"\\x5a" * (8 << 20)
fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
done = 0
while done < n:
    k = os.write(fd, memoryview(out)[:min(n - done, len(out))])
    if early:
        libc.sync_file_range(fd, done, k, 2)   # SYNC_FILE_RANGE_WRITE
    done += k
os.fsync(fd)
os.close(fd)
os.remove(dst)
"""


def io_limit(src, out_dir, out_bytes, early=False):
    """The I/O limit of a job reading `src` and writing `out_bytes` into `out_dir` (module docstring);
    `early`: with each block's disk write started as soon as it is written."""
    return measure([sys.executable, "-c", IO_LIMIT, src, os.path.join(out_dir, "io-limit.bin"), str(out_bytes)]
                   + (["early"] if early else []))


def identical_tensors(ours, theirs):
    """Tensors of `ours` equal to `theirs` (the same name at the same place, type, shape and bytes), the
    total, and the names that differ: the issue's byte identity, checked on the files this run wrote."""
    import gguf
    a, b = gguf.GGUFReader(ours).tensors, gguf.GGUFReader(theirs).tensors
    differing = [y.name for x, y in zip(a, b) if (x.name, x.tensor_type, list(x.shape)) != (y.name, y.tensor_type, list(y.shape))
                 or x.data.tobytes() != y.data.tobytes()]
    differing += [t.name for t in (a[len(b):] if len(a) > len(b) else b[len(a):])]
    return max(len(a), len(b)) - len(differing), max(len(a), len(b)), differing


def summary(rows, key):
    xs = sorted(r[key] for r in rows)
    return {"min": xs[0], "median": statistics.median(xs), "max": xs[-1]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/whittle/models/smollm2-135m-instruct"))
    ap.add_argument("--f32", default="/tmp/gguf-check/llamacpp-f32.gguf", help="llama.cpp converter's F32 GGUF of --model")
    ap.add_argument("--types", default="q8_0,q4_0")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default="/tmp/gguf-speed-bench")
    ap.add_argument("--skip-read", action="store_true")
    ap.add_argument("--results", default=os.path.join(ROOT, "tools", "bench_gguf_peer.results.json"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if not os.path.exists(args.f32):
        env = dict(os.environ, PYTHONPATH=os.path.join(LLAMA, "gguf-py"))
        subprocess.run([sys.executable, os.path.join(LLAMA, "convert_hf_to_gguf.py"), args.model, "--outtype", "f32",
                        "--outfile", args.f32], check=True, env=env, capture_output=True)
    import gguf
    import numpy as np
    params = sum(int(np.prod(t.shape)) for t in gguf.GGUFReader(args.f32).tensors)
    llama_env = dict(os.environ, LD_LIBRARY_PATH=BIN)
    results = {"model": args.model, "parameters": params, "cpus": os.cpu_count(), "write": {}, "read": {}}
    print(f"{params / 1e6:.1f} M parameters; load average at start {os.getloadavg()}")

    for t in args.types.split(","):
        ours_path, theirs_path = os.path.join(args.out, f"ours-{t}.gguf"), os.path.join(args.out, f"theirs-{t}.gguf")
        ours_cmd = [COMPRESS, "convert", args.model, "--output", ours_path, "--type", t]
        theirs_cmd = [os.path.join(BIN, "llama-quantize"), args.f32, theirs_path, t.upper(), "2"]

        def ours():
            if os.path.exists(ours_path):
                os.remove(ours_path)   # compress refuses nothing here, but start from the same state as theirs
            return measure(ours_cmd)

        def theirs():
            return measure(theirs_cmd, llama_env)

        ours(); theirs()   # warm-up: inputs into the page cache
        source = os.path.join(args.model, "model.safetensors")

        def io():
            return io_limit(source, args.out, os.path.getsize(ours_path))
        rows = {"ours": [], "theirs": [], "io": []}
        for r in range(args.runs):
            order = [("ours", ours), ("theirs", theirs)] if r % 2 == 0 else [("theirs", theirs), ("ours", ours)]
            for side, fn in order + [("io", io)]:
                m = fn()
                rows[side].append(m)
                print(json.dumps({"type": t, "run": r, "side": side, **{k: round(v, 3) for k, v in m.items()}}), flush=True)
        entry = {side: {k: summary(v, k) for k in ("wall", "user", "sys", "rss_mb", "load")} for side, v in rows.items()}
        entry["io_limit_ratio_median_wall"] = statistics.median(m["wall"] for m in rows["io"]) / statistics.median(m["wall"] for m in rows["ours"])
        entry["runs"] = rows
        walls = {s: [m["wall"] for m in rows[s]] for s in rows}
        cpus = {s: [m["user"] + m["sys"] for m in rows[s]] for s in rows}
        entry["ratio_median_wall"] = statistics.median(walls["theirs"]) / statistics.median(walls["ours"])
        entry["ratio_best_wall"] = min(walls["theirs"]) / min(walls["ours"])
        entry["ratio_median_cpu"] = statistics.median(cpus["theirs"]) / statistics.median(cpus["ours"])
        # per-run pairs (each pair measured back to back): the spread of the ratio
        pair = sorted(th / o for th, o in zip(walls["theirs"], walls["ours"]))
        entry["ratio_pairs_wall"] = {"min": pair[0], "median": statistics.median(pair), "max": pair[-1]}
        same, total, differing = identical_tensors(ours_path, theirs_path)
        entry["identical_tensors"] = {"same": same, "total": total, "differing": differing}
        print(f"{t}: {same}/{total} tensors byte-identical to llama-quantize's (the files of this run)"
              + (f"; differing: {differing[:5]}" if differing else ""), flush=True)
        results["write"][t] = entry
        print(f"{t}: ours wall {entry['ours']['wall']}, theirs wall {entry['theirs']['wall']}")
        print(f"{t}: params/s ours {params / entry['ours']['wall']['median'] / 1e6:.1f} M, theirs "
              f"{params / entry['theirs']['wall']['median'] / 1e6:.1f} M (medians); ratio median wall "
              f"{entry['ratio_median_wall']:.2f}x, best {entry['ratio_best_wall']:.2f}x, per-pair "
              f"{pair[0]:.2f}-{pair[-1]:.2f}x, median CPU {entry['ratio_median_cpu']:.2f}x; I/O limit "
              f"{entry['io']['wall']['median']:.3f} s = {entry['io_limit_ratio_median_wall']:.2f}x of ours; peak RSS ours "
              f"{entry['ours']['rss_mb']['max']:.0f} MB, theirs {entry['theirs']['rss_mb']['max']:.0f} MB", flush=True)

    if not args.skip_read:
        shipped = os.path.expanduser("~/.cache/whittle/models/smollm2-135m-instruct.Q4_1.gguf")
        sources = {t: os.path.join(args.out, f"ours-{t}.gguf") for t in args.types.split(",")}
        if os.path.exists(shipped):
            sources["shipped-q4_1"] = shipped   # the Q4_1 file get-smollm2.sh fetches (Q4_1 + Q6_K head)
        for t, src in sources.items():
            folder = os.path.join(args.out, f"read-{t}")
            rows = {"ours": [], "io": [], "io_early": []}
            for r in range(args.runs + 1):
                subprocess.run(["rm", "-rf", folder], check=True)
                m = measure([COMPRESS, "convert", src, "--output", folder])
                out_bytes = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
                io = io_limit(src, args.out, out_bytes)
                io_early = io_limit(src, args.out, out_bytes, early=True)
                if r > 0:   # the first round warms the cache
                    rows["ours"].append(m); rows["io"].append(io); rows["io_early"].append(io_early)
                    print(json.dumps({"read": t, "run": r, "ours": {k: round(v, 3) for k, v in m.items()},
                                      "io_limit": {k: round(v, 3) for k, v in io.items()},
                                      "io_limit_early": {k: round(v, 3) for k, v in io_early.items()}, "out_bytes": out_bytes}), flush=True)
            entry = {side: {k: summary(v, k) for k in ("wall", "user", "sys", "rss_mb")} for side, v in rows.items()}
            entry["runs"] = rows
            entry["ratio_io_over_ours_median"] = entry["io"]["wall"]["median"] / entry["ours"]["wall"]["median"]
            entry["ratio_io_early_over_ours_median"] = entry["io_early"]["wall"]["median"] / entry["ours"]["wall"]["median"]
            results["read"][t] = entry
            cpu = {side: statistics.median(m["user"] + m["sys"] for m in rows[side]) for side in rows}
            rss = max(m["rss_mb"] for m in rows["ours"])
            print(f"read {t}: ours wall {entry['ours']['wall']} vs I/O limit {entry['io']['wall']}: "
                  f"{entry['ratio_io_over_ours_median']:.2f}x of the I/O limit, {entry['ratio_io_early_over_ours_median']:.2f}x of the "
                  f"I/O limit with early writeback {entry['io_early']['wall']} (medians); median CPU ours {cpu['ours']:.3f} s, "
                  f"I/O limit {cpu['io']:.3f} s, early {cpu['io_early']:.3f} s; peak RSS ours {rss:.0f} MB", flush=True)

    with open(args.results, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
