#!/usr/bin/env python3
"""Gated attention on a BERT classifier, and static W8A8 before and after (issue 14, ALGORITHMS.md §3.2, §3.5).

minilm-l6-sst2 (/work/shared/models; SST-2 dev 0.8555 as shipped), three models with the same data and budget:
  shipped:  the model as it is;
  finetune: `finetune` for --steps steps on SST-2 train (vanilla: the same extra training, no gates);
  gated:    `gated_attention` in fine-tuning mode (conditional per token, linear per head, π_init 0.25,
            output × 1/π_init, gate weights N(0, 0.01²)) for the same steps.
Training: the first --rows rows of sst2/train.tsv shuffled with seed 1, batch 32, max length 64, lr --lr,
10 % warm-up, weight decay 0.01 (the options are fixed beforehand, not chosen on dev).
Each then goes through `int8` `scheme: static` (weights symmetric per tensor, MSE grid; activations
asymmetric per tensor, running min-max, momentum 0.9) with ranges from --calib train sentences;
reported: SST-2 dev accuracy (872) of the float model and of the written static checkpoint (run by our
runtime), and the full-site §3.5 simulation's argmax agreement / logits error on --held-out further
train sentences the observers never saw (no labels there: agreement with the float model, not accuracy).
Run from the repository root after `swift build -c release`:
    /root/venv/bin/python tools/attention/minilm_gated.py [--steps 300] [--threads 1]
Writes <out>/results.json and prints a Markdown table.
"""
import argparse, json, os
from recipe_run import run, outlier_summary

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = "/work/shared/models/minilm-l6-sst2"
TRAIN = "/work/shared/data/sst2/train.tsv"
DEV = "/work/shared/data/sst2/dev.tsv"
EVALUATION = [{"name": "SST-2 dev accuracy", "data": DEV, "metric": "accuracy"}]


def static_w8a8(model, name, args):
    recipe = {"version": 1, "model": model, "evaluation": EVALUATION,
              "calibration": {"data": TRAIN, "samples": args.calib + args.held_out, "seed": 7},
              "passes": [{"pass": "int8", "scheme": "static", "observer": "minmax", "weight_range": "mse",
                          "evaluation_samples": args.held_out}]}
    report, seconds = run(recipe, os.path.join(args.out, f"{name}-int8.json"), os.path.join(args.out, f"{name}-int8"),
                          args.compress, args.threads)
    c, m = report["comparisons"][0], report["passes"][0]["metrics"]
    return {"fp_accuracy": c["original"], "checkpoint_w8a8_accuracy": c["compressed"], "seconds": seconds,
            **{k: m.get(k) for k in ["static_w8a8_argmax_agreement", "static_w8a8_logits_relative_error",
                                     "full_w8a8_argmax_agreement", "full_w8a8_logits_relative_error",
                                     "calibration_windows", "evaluation_windows"]}}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--rows", type=int, default=16384)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--calib", type=int, default=64)
    p.add_argument("--held-out", type=int, default=256)
    p.add_argument("--threads", type=int)
    p.add_argument("--compress", default=os.path.join(REPO, ".build", "release", "compress"))
    p.add_argument("--out", default="/tmp/minilm-gated")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    budget = {"steps": args.steps, "batch_size": 32, "max_length": 64, "lr": args.lr, "warmup_ratio": 0.1,
              "weight_decay": 0.01, "max_grad_norm": 1.0, "seed": 1}
    results = {"budget": dict(budget, training_rows=args.rows), "calibration_sentences": args.calib,
               "held_out_sentences": args.held_out, "models": {}}
    trained = {"finetune": dict(budget, **{"pass": "finetune"}),
               "gated": dict(budget, **{"pass": "gated_attention", "gate_type": "conditional_per_token",
                                        "gate_network": "linear", "pi_init": 0.25, "fine_tuning": True})}
    for name in ["shipped", "finetune", "gated"]:
        row, model = {}, MODEL
        if name in trained:
            model = os.path.join(args.out, name)
            recipe = {"version": 1, "model": MODEL, "seed": 1, "training": {"data": TRAIN, "samples": args.rows, "seed": 1},
                      "evaluation": EVALUATION, "passes": [trained[name]]}
            report, seconds = run(recipe, os.path.join(args.out, f"{name}.json"), model, args.compress, args.threads)
            curve = report["passes"][0]["series"][0]["values"]
            row.update({"train_seconds": seconds, "first_loss": curve[0], "final_loss": sum(curve[-20:]) / len(curve[-20:])})
            metrics = report["passes"][0]["metrics"]
            row.update({k: v for k, v in metrics.items() if k.startswith("stock_loader")})
            if report.get("outliersAfter"):  # §3.4 on the trained model; the shipped model's are every run's "before"
                row["outliers"] = outlier_summary(report["outliersAfter"])
                results["models"]["shipped"].setdefault("outliers", outlier_summary(report["outliersBefore"]))
        row.update(static_w8a8(model, name, args))
        results["models"][name] = row
        print(name, json.dumps(row), flush=True)
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=2)
    nan = float("nan")
    print("| model | dev accuracy, float | dev accuracy, static W8A8 checkpoint (loss) | avg / max kurtosis | max ‖x‖∞ | "
          "full-site §3.5: argmax agreement, logits rel. error |")
    print("|---|---|---|---|---|---|")
    for name, r in results["models"].items():
        o = r.get("outliers") or {}
        print(f"| {name} | {100 * r['fp_accuracy']:.2f} % | {100 * r['checkpoint_w8a8_accuracy']:.2f} % "
              f"({100 * (r['checkpoint_w8a8_accuracy'] - r['fp_accuracy']):+.2f} pp) | "
              f"{o.get('mean_kurtosis', nan):.2f} / {o.get('max_kurtosis', nan):.2f} | {o.get('max_inf_norm', nan):.2f} | "
              f"{r['full_w8a8_argmax_agreement']:.4f}, {r['full_w8a8_logits_relative_error']:.4f} |")


if __name__ == "__main__":
    main()
