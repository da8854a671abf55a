#!/usr/bin/env python3
"""Vanilla vs clipped softmax vs gated attention, trained from scratch (issue 14, ALGORITHMS.md §3.7).

1. A randomly initialised copy of fixtures/models/shakespeare-llama (same config and tokenizer:
   L=4, d=128, H=4 (2 kv heads), d_h=32; torch seed SEED, transformers' default init).
2. Three recipes with the same data (every 128-token window of fixtures/data/shakespeare-train.txt,
   the 90 % Tiny Shakespeare split), seed, optimizer and budget: `finetune` (vanilla),
   `clipped_softmax` (α = 12, T_max = 128 → γ = −0.09375, ζ = 1), `gated_attention`
   (conditional per token, linear, π_init = 0.25, pre-training mode: no ×1/π_init).
   Each evaluates held-out perplexity (shakespeare-valid, seq 128, 16k tokens) and its report holds
   outlier statistics (§3.4 over block outputs, o_proj and down_proj outputs, 16 training windows).
3. `int8` with `"scheme": "static"` on each trained model (ALGORITHMS.md §3.5: weights symmetric per
   tensor with the MSE grid; activations asymmetric per tensor, running min-max, momentum 0.9):
   ranges from 32 calibration windows of the train split, then
   * `checkpoint_w8a8_perplexity`: the written static checkpoint (static inputs of every linear, as
     transformers + compressed-tensors load it) run by our runtime on the same held-out data as the FP
     perplexity — the checkpoint's real number;
   * `full_w8a8_*`: §3.5's full-site simulation (also linear outputs, scores, probabilities,
     embeddings, block outputs) with FP and W8A8 perplexity on 16 further train windows the observers
     never saw (`evaluation_samples`) — the metric the paper's tables use.

Run from the repository root after `swift build -c release`:
    /root/venv/bin/python tools/attention/scratch_comparison.py [--steps 600] [--out /tmp/attention-comparison]
Writes <out>/results.json and prints a Markdown table.
"""
import argparse, json, os, shutil, sys
from recipe_run import run, outlier_summary
import torch
from transformers import LlamaConfig, LlamaForCausalLM

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BASE = os.path.join(REPO, "fixtures", "models", "shakespeare-llama")
TRAIN = os.path.join(REPO, "fixtures", "data", "shakespeare-train.txt")
VALID = os.path.join(REPO, "fixtures", "data", "shakespeare-valid.txt")
COMPRESS = os.path.join(REPO, ".build", "release", "compress")
SEED = 0


def scratch_model(folder):
    shutil.rmtree(folder, ignore_errors=True)
    config = LlamaConfig.from_pretrained(BASE)
    torch.manual_seed(SEED)
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(BASE, f), folder)






def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--out", default="/tmp/attention-comparison")
    p.add_argument("--compress", default=COMPRESS, help="the compress binary (default: this checkout's release build)")
    p.add_argument("--reuse", action="store_true", help="keep trained models already in --out (re-run only the W8A8 step)")
    p.add_argument("--threads", type=int, help="compress --threads (default: all cores)")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    scratch = os.path.join(args.out, "scratch")
    if not (args.reuse and os.path.isdir(scratch)):
        scratch_model(scratch)
    training = {"lr": args.lr, "steps": args.steps, "batch_size": args.batch_size, "warmup_steps": max(1, args.steps // 20),
                "schedule": "cosine", "weight_decay": 0.1, "max_grad_norm": 1.0, "seed": 1}
    variants = {
        "vanilla": dict(training, **{"pass": "finetune"}),
        "clipped": dict(training, **{"pass": "clipped_softmax", "alpha": 12, "max_seq_length": 128}),
        "gated": dict(training, **{"pass": "gated_attention", "gate_type": "conditional_per_token", "gate_network": "linear",
                                   "pi_init": 0.25, "fine_tuning": False}),
    }
    evaluation = [{"name": "held-out perplexity", "data": VALID, "metric": "perplexity", "seq_len": 128, "max_tokens": 16384}]
    results = {"budget": dict(training, seq_len=128, train_windows="all 128-token windows of the train split"), "variants": {}}
    for name, pass_ in variants.items():
        out = os.path.join(args.out, name)
        recipe = {"version": 1, "model": scratch, "seed": 1, "training": {"data": TRAIN, "seq_len": 128},
                  "evaluation": evaluation, "passes": [pass_]}
        if args.reuse and os.path.exists(os.path.join(out, "report.json")):
            with open(os.path.join(out, "report.json")) as f:
                report, seconds = json.load(f), None
        else:
            report, seconds = run(recipe, os.path.join(args.out, f"{name}.json"), out, args.compress, args.threads)
        curve = report["passes"][0]["series"][0]["values"]
        row = {"fp_perplexity": report["comparisons"][0]["compressed"], "train_seconds": seconds,
               "first_loss": curve[0], "final_loss": sum(curve[-20:]) / len(curve[-20:]),
               "loss_curve_every_50": curve[::50]}
        row.update(outlier_summary(report["outliersAfter"]) if report.get("outliersAfter") else {})
        q = {"version": 1, "model": out, "calibration": {"data": TRAIN, "samples": 48, "seq_len": 128, "seed": 1},
             "evaluation": evaluation, "passes": [{"pass": "int8", "scheme": "static", "evaluation_samples": 16}]}
        qreport, _ = run(q, os.path.join(args.out, f"{name}-int8.json"), out + "-int8", args.compress, args.threads)
        m = qreport["passes"][0]["metrics"]
        row["checkpoint_w8a8_perplexity"] = qreport["comparisons"][0]["compressed"]
        for k in ["static_w8a8_logits_relative_error", "static_w8a8_argmax_agreement", "full_w8a8_logits_relative_error",
                  "full_w8a8_argmax_agreement", "calibration_float_perplexity", "calibration_static_w8a8_perplexity",
                  "calibration_full_w8a8_perplexity"]:
            row[k] = m.get(k)
        results["variants"][name] = row
        print(name, json.dumps({k: v for k, v in row.items() if k != "loss_curve_every_50"}), flush=True)
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=2)
    nan = float("nan")
    print("| variant | FP ppl (valid) | static W8A8 checkpoint ppl (valid) | avg kurtosis | max kurtosis | max ‖x‖∞ | "
          "full-site §3.5: FP → W8A8 ppl (16 unseen windows) | full-site logits rel. error |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results["variants"].items():
        print(f"| {name} | {r['fp_perplexity']:.2f} | {r['checkpoint_w8a8_perplexity']:.2f} | {r.get('mean_kurtosis', nan):.2f} | "
              f"{r.get('max_kurtosis', nan):.2f} | {r.get('max_inf_norm', nan):.2f} | "
              f"{(r.get('calibration_float_perplexity') or nan):.2f} → {(r.get('calibration_full_w8a8_perplexity') or nan):.2f} | "
              f"{(r.get('full_w8a8_logits_relative_error') or nan):.4f} |")


if __name__ == "__main__":
    main()
