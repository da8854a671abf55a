#!/usr/bin/env python3
"""Static W8A8 on a real pretrained decoder, before and after gated attention (issue 14, ALGORITHMS.md §3.5).

SmolLM2-135M-instruct (~/.cache/whittle/models/smollm2-135m-instruct; ../shared/tools/get-smollm2.sh),
WikiText-2 raw test text (/work/shared/data/wikitext2; the only split on this machine):
  vanilla: `int8` `scheme: static` (observer minmax, momentum 0.9; weight range --weight-range) with
           ranges from --calib random 256-token windows and the full-site §3.5 simulation on
           --held-out further windows the observers never saw; the written static checkpoint is
           evaluated by our runtime (perplexity, seq 256, first --max-tokens tokens);
  finetune: the control — `finetune` with the same data and budget, no gates — then the same W8A8 step;
  gated:   `gated_attention` in fine-tuning mode (conditional per token, linear, π_init 0.25,
           output ×1/π_init) trained --steps steps on random 256-token WikiText-2 windows, FP perplexity
           vs the original, then the same static W8A8 step on the gated model.
WikiText-2's test file is the only split on this machine, so it is cut in two at a line boundary: the
first --eval-chars characters are the evaluation text (perplexity on its first --max-tokens tokens), the
rest is where calibration and training windows come from — evaluated text is never trained or
calibrated on; the held-out probe windows (from the second part) never feed the observers.
Run from the repository root after `swift build -c release`:
    nice -n 10 /root/venv/bin/python tools/attention/smollm2_w8a8.py [--only vanilla|gated|finetune] [--steps 40]
Writes <out>/results.json.
"""
import argparse, json, os
from recipe_run import run, outlier_summary

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.expanduser("~/.cache/whittle/models/smollm2-135m-instruct")
SOURCE = "/work/shared/data/wikitext2/wikitext2-raw-test.joined.txt"


def split_text(out, eval_chars):
    """(evaluation file, training/calibration file): the source cut at the first newline after eval_chars."""
    text = open(SOURCE, encoding="utf-8").read()
    cut = text.index("\n", eval_chars) + 1
    paths = (os.path.join(out, "wikitext2-eval.txt"), os.path.join(out, "wikitext2-train.txt"))
    for path, part in zip(paths, (text[:cut], text[cut:])):
        with open(path, "w", encoding="utf-8") as f:
            f.write(part)
    return paths




def static_w8a8(model, name, args, evaluation):
    out = os.path.join(args.out, name + "-int8-" + args.weight_range)
    q = {"version": 1, "model": model,
         "calibration": {"data": args.train_text, "samples": args.calib + args.held_out, "seq_len": 256, "seed": 1},
         "evaluation": evaluation,
         "passes": [{"pass": "int8", "scheme": "static", "weight_range": args.weight_range, "evaluation_samples": args.held_out}]}
    report, seconds = run(q, os.path.join(args.out, f"{name}-int8.json"), out, args.compress, args.threads)
    m, c = report["passes"][0]["metrics"], report["comparisons"][0]
    return {"input_perplexity": c["original"], "checkpoint_w8a8_perplexity": c["compressed"], "seconds": seconds,
            **{k: m.get(k) for k in ["static_w8a8_logits_relative_error", "full_w8a8_logits_relative_error",
                                     "calibration_float_perplexity", "calibration_static_w8a8_perplexity",
                                     "calibration_full_w8a8_perplexity", "calibration_windows", "evaluation_windows"]},
            "outliers_before": report.get("outliersBefore") and outlier_summary(report["outliersBefore"])}




def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["vanilla", "gated", "finetune"])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--calib", type=int, default=16)
    p.add_argument("--held-out", type=int, default=8)
    p.add_argument("--max-tokens", type=int, default=8192)
    p.add_argument("--weight-range", choices=["mse", "absmax"], default="mse")
    p.add_argument("--compress", default=os.path.join(REPO, ".build", "release", "compress"))
    p.add_argument("--out", default="/tmp/smollm2-w8a8")
    p.add_argument("--eval-chars", type=int, default=100_000)
    p.add_argument("--threads", type=int, help="compress --threads (default: all cores)")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "results.json")
    results = json.load(open(path)) if os.path.exists(path) else {}
    eval_text, args.train_text = split_text(args.out, args.eval_chars)
    evaluation = [{"name": "WikiText-2 perplexity", "data": eval_text, "metric": "perplexity", "seq_len": 256, "max_tokens": args.max_tokens}]
    results["setup"] = {"model": MODEL, "data": SOURCE, "evaluation_chars": args.eval_chars, "calibration_windows": args.calib, "held_out_windows": args.held_out,
                        "seq_len": 256, "eval_max_tokens": args.max_tokens, "weight_range": args.weight_range}
    if args.only in (None, "vanilla"):
        results["vanilla-" + args.weight_range] = static_w8a8(MODEL, "vanilla", args, evaluation)
        print("vanilla", json.dumps(results["vanilla-" + args.weight_range]), flush=True)
        json.dump(results, open(path, "w"), indent=2)
    passes = {"gated": {"pass": "gated_attention", "gate_type": "conditional_per_token", "gate_network": "linear",
                        "pi_init": 0.25, "fine_tuning": True},
              "finetune": {"pass": "finetune"}}  # the control: the same training without gates
    for name, pass_ in passes.items():
        if args.only not in (None, name):
            continue
        trained = os.path.join(args.out, name)
        budget = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "warmup_steps": max(1, args.steps // 10),
                  "weight_decay": 0.1, "max_grad_norm": 1.0}
        recipe = {"version": 1, "model": MODEL, "seed": 1,
                  "training": {"data": args.train_text, "samples": args.steps * args.batch_size, "seq_len": 256, "seed": 2},
                  "evaluation": evaluation, "passes": [dict(budget, **pass_)]}
        report, seconds = run(recipe, os.path.join(args.out, name + ".json"), trained, args.compress, args.threads)
        c = report["comparisons"][0]
        row = {"budget": budget, "train_seconds": seconds, "original_perplexity": c["original"], "trained_fp_perplexity": c["compressed"],
               "loss_curve": report["passes"][0]["series"][0]["values"],
               "stock_loader_perplexity": report["passes"][0]["metrics"].get("stock_loader_perplexity"),
               "outliers_before": report.get("outliersBefore") and outlier_summary(report["outliersBefore"]),
               "outliers_after": report.get("outliersAfter") and outlier_summary(report["outliersAfter"])}
        row["w8a8"] = static_w8a8(trained, name, args, evaluation)
        results[f"{name}-{args.steps}-{args.weight_range}"] = row
        print(name, json.dumps(row), flush=True)
        json.dump(results, open(path, "w"), indent=2)


if __name__ == "__main__":
    main()
