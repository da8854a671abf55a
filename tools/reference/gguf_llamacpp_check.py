#!/usr/bin/env python3
"""The external check of our GGUF writer, with llama.cpp itself (BENCHMARKS.md, "GGUF").

For a Hugging Face Llama folder (default: SmolLM2-135M from ../shared/tools/get-smollm2.sh):
  1. llama.cpp's own converter (convert_hf_to_gguf.py --outtype f32) makes the F32 input of
     `llama-quantize`;
  2. per type (q8_0, q4_0, q4_1, q4_k_m): `llama-quantize` (theirs) and `compress convert DIR --output
     x.gguf --type T` (ours), both timed in the same run (params/s = parameters / wall seconds,
     best of --repeat runs);
  3. tensors compared byte for byte (gguf Python package reader): how many of them are identical;
  4. llama.cpp loads OUR file and computes logits on a prompt (tools/reference/gguf_llama_logits.cpp);
     `compress logits` computes ours from the same file; max |difference| reported;
  5. `llama-perplexity` on WikiText-2 (raw test, --chunks N of 512 tokens) for our file and theirs.
Writes a JSON of everything and prints the BENCHMARKS.md table.

Needs llama.cpp built (tools/setup_llamacpp.sh) and the release build of `compress`.
Run: WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp /root/venv/bin/python tools/reference/gguf_llamacpp_check.py \
       [--model DIR] [--chunks 40] [--out /tmp/gguf-check]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import gguf
import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LLAMA = os.environ.get("WHITTLE_LLAMA_CPP", "/tmp/whittle-llamacpp/llama.cpp")
BIN = os.path.join(LLAMA, "build", "bin")
COMPRESS = os.path.join(ROOT, ".build", "release", "compress")
WIKITEXT = "/work/shared/data/wikitext2/wikitext2-raw-test.joined.txt"
TYPES = ["q8_0", "q4_0", "q4_1", "q4_k_m"]
PROMPT_IDS = [1, 504, 3458, 282, 260, 1345, 1126, 4183, 288, 260, 6593, 30, 378, 1028, 314, 2124]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def timed(cmd, repeat):
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        run(cmd)
        t = time.perf_counter() - start
        best = t if best is None else min(best, t)
    return best


def logits_tool():
    exe = os.path.join(BIN, "gguf_llama_logits")
    src = os.path.join(ROOT, "tools", "reference", "gguf_llama_logits.cpp")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        run(["g++", "-O2", "-std=c++17", src, "-o", exe, f"-I{LLAMA}/include", f"-I{LLAMA}/ggml/include", f"-L{BIN}",
             "-lllama", "-lggml", "-lggml-base", f"-Wl,-rpath,{BIN}"])
    return exe


def perplexity(path, chunks):
    out = run([os.path.join(BIN, "llama-perplexity"), "-m", path, "-f", WIKITEXT, "-c", "512", "--chunks", str(chunks),
               "-t", "2", "-b", "512"])
    text = out.stdout + out.stderr
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", text)
    if not m:
        sys.exit(f"no perplexity in llama-perplexity output for {path}:\n{text[-2000:]}")
    return float(m.group(1)), float(m.group(2))


def tensors(path):
    return {t.name: (t.tensor_type.name, bytes(t.data.tobytes())) for t in gguf.GGUFReader(path).tensors}


def metadata(path):
    out = {}
    for name, field in gguf.GGUFReader(path).fields.items():
        if field.types and field.types[0] == gguf.GGUFValueType.ARRAY:
            out[name] = [field.parts[i].tobytes() for i in field.data]
        else:
            out[name] = b"".join(field.parts[i].tobytes() for i in field.data)
    return out


def compare_logits(exe, path, out, tag):
    """llama.cpp's logits on PROMPT_IDS from `path` against `compress logits` on the same file:
    (max |difference|, argmax agreement, max |logit|)."""
    from safetensors.numpy import load_file
    ll, ours = os.path.join(out, f"ll-{tag}.f32"), os.path.join(out, f"ours-{tag}.safetensors")
    run([exe, path, ",".join(map(str, PROMPT_IDS)), ll])
    run([COMPRESS, "logits", "--model", path, "--ids", ",".join(map(str, PROMPT_IDS)), "--out", ours])
    mine = load_file(ours)["logits"].reshape(len(PROMPT_IDS), -1)
    theirs = np.fromfile(ll, dtype=np.float32).reshape(len(PROMPT_IDS), -1)
    return float(np.abs(mine - theirs).max()), float((mine.argmax(-1) == theirs.argmax(-1)).mean()), float(np.abs(theirs).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/whittle/models/smollm2-135m-instruct"))
    ap.add_argument("--chunks", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="/tmp/gguf-check")
    ap.add_argument("--types", default=",".join(TYPES))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    f32 = os.path.join(args.out, "llamacpp-f32.gguf")
    if not os.path.exists(f32):
        env = dict(os.environ, PYTHONPATH=os.path.join(LLAMA, "gguf-py"))
        subprocess.run([sys.executable, os.path.join(LLAMA, "convert_hf_to_gguf.py"), args.model, "--outtype", "f32",
                        "--outfile", f32], check=True, env=env, capture_output=True)
    params = sum(int(np.prod(t.shape)) for t in gguf.GGUFReader(f32).tensors)
    exe = logits_tool()
    results = {"model": args.model, "parameters": params, "chunks": args.chunks, "types": {}}
    results["f32_ppl"] = perplexity(f32, args.chunks)
    # F32: llama.cpp (F32 KV cache, no flash attention) and our runtime on the same weights of our own file.
    ours_f32 = os.path.join(args.out, "ours-f32.gguf")
    if os.path.exists(ours_f32):
        os.remove(ours_f32)
    run([COMPRESS, "convert", args.model, "--output", ours_f32, "--type", "f32"])
    results["f32_logits_max_abs_diff"], results["f32_argmax_agreement"], _ = compare_logits(exe, ours_f32, args.out, "f32")
    for t in args.types.split(","):
        theirs, ours = os.path.join(args.out, f"theirs-{t}.gguf"), os.path.join(args.out, f"ours-{t}.gguf")
        for p in (theirs, ours):
            if os.path.exists(p):
                os.remove(p)
        t_theirs = timed([os.path.join(BIN, "llama-quantize"), f32, theirs, t.upper(), "2"], args.repeat)
        t_ours = None
        for _ in range(args.repeat):
            if os.path.exists(ours):
                os.remove(ours)
            start = time.perf_counter()
            run([COMPRESS, "convert", args.model, "--output", ours, "--type", t])
            el = time.perf_counter() - start
            t_ours = el if t_ours is None else min(t_ours, el)
        a, b = tensors(ours), tensors(theirs)
        ma, mb = metadata(ours), metadata(f32)
        differing_keys = sorted(k for k in set(ma) | set(mb)
                                if (k.startswith("tokenizer.") or k.startswith("llama.")) and ma.get(k) != mb.get(k))
        same = sum(1 for n in b if n in a and a[n] == b[n])
        types = {}
        for n, (ty, _) in a.items():
            types[ty] = types.get(ty, 0) + 1
        diff, top_agree, scale = compare_logits(exe, ours, args.out, t)
        results["types"][t] = {
            "ours_bytes": os.path.getsize(ours), "theirs_bytes": os.path.getsize(theirs),
            "ours_seconds": t_ours, "theirs_seconds": t_theirs,
            "ours_params_per_s": params / t_ours, "theirs_params_per_s": params / t_theirs,
            "metadata_keys_differing_from_llamacpp_converter": differing_keys,
            "identical_tensors": same, "tensors": len(b), "our_types": types,
            "logits_max_abs_diff_llamacpp_vs_ours": diff, "logits_argmax_agreement": top_agree,
            "logits_scale": scale,
            "ours_ppl": perplexity(ours, args.chunks), "theirs_ppl": perplexity(theirs, args.chunks),
        }
        print(t, json.dumps(results["types"][t]), flush=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nllama.cpp vs our runtime on our F32 file: max abs logit diff {results['f32_logits_max_abs_diff']:.2e}, "
          f"argmax agreement {results['f32_argmax_agreement']:.2f}")
    print(f"\nF32 (llama.cpp converter) WikiText-2 PPL {results['f32_ppl'][0]:.3f} ± {results['f32_ppl'][1]:.3f}, "
          f"{params / 1e6:.1f} M parameters, {args.chunks} chunks of 512 tokens\n")
    print("| type | ours: size | llama-quantize: size | identical tensors | ours: PPL | llama-quantize: PPL | "
          "llama.cpp vs our runtime on our file: max abs logit diff | ours: Mparams/s | llama-quantize: Mparams/s | speed ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t, r in results["types"].items():
        print(f"| {t} | {r['ours_bytes'] / 1e6:.2f} MB | {r['theirs_bytes'] / 1e6:.2f} MB | {r['identical_tensors']}/{r['tensors']} | "
              f"{r['ours_ppl'][0]:.3f} ± {r['ours_ppl'][1]:.3f} | {r['theirs_ppl'][0]:.3f} ± {r['theirs_ppl'][1]:.3f} | "
              f"{r['logits_max_abs_diff_llamacpp_vs_ours']:.2e} (of {r['logits_scale']:.1f}) | "
              f"{r['ours_params_per_s'] / 1e6:.1f} | {r['theirs_params_per_s'] / 1e6:.1f} | "
              f"{r['ours_params_per_s'] / r['theirs_params_per_s']:.2f}× |")


if __name__ == "__main__":
    main()
