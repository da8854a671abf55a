"""Model-level evaluation references (issue 19), computed with PyTorch + transformers on the fixtures.

Writes fixtures/eval/stories260k_model_reference.json:
  outliers  per-module kurtosis and infinity norm (ALGORITHMS.md §3.4: non-excess kurtosis
            mean((x-mu)^4) / (std^4 + 1e-6), unbiased std, each sample's [T, d] output as one vector,
            averaged over samples) of every layer's attention output (o_proj output), FFN output
            (down_proj output) and block output (decoder layer output), captured by forward hooks on
            fixtures/models/stories260K, for 2 samples: the first 128 ids of
            fixtures/eval/stories260k_samples.tokens split into two 64-id sequences;
  kl        KL(original || pruned) of next-token distributions, averaged over every position of the
            non-overlapping 64-id windows of those 128 ids; original = fixtures/models/stories260K,
            pruned = fixtures/pruning/stories260K-finercut4-zeroed loaded by stock transformers;
  nf4       perplexity (non-overlapping windows of 128, the transformers labels recipe) of all
            1,024 sample ids under fixtures/quant/stories260K-bnb-nf4 — stories260K quantized by
            bitsandbytes itself — loaded by transformers + bitsandbytes (the README library example's
            evaluation).

Run: /root/venv/bin/python tools/reference/eval_model_reference.py
"""
import json, os
import numpy as np
import torch
import transformers

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "../.."))
torch.set_grad_enabled(False)


def load(path):
    return transformers.LlamaForCausalLM.from_pretrained(os.path.join(ROOT, path), dtype=torch.float32).eval()


def stats(x):
    flat = x.double().reshape(-1)
    kurt = ((flat - flat.mean()) ** 4).mean() / (flat.std() ** 4 + 1e-6)
    return float(kurt), float(flat.abs().max())


def main():
    stream = [int(t) for t in open(os.path.join(ROOT, "fixtures/eval/stories260k_samples.tokens")).read().split()]
    ids = stream[:128]
    model = load("fixtures/models/stories260K")
    captured = {}
    hooks = []
    for i, layer in enumerate(model.model.layers):
        for name, module in [("attention_output", layer.self_attn.o_proj), ("ffn_output", layer.mlp.down_proj), ("block_output", layer)]:
            def hook(mod, inp, out, key=f"layers.{i}.{name}"):
                captured.setdefault(key, []).append(out[0] if isinstance(out, tuple) else out)
            hooks.append(module.register_forward_hook(hook))
    hooks.append(model.model.norm.register_forward_hook(   # §3.4's module set ends with the final norm
        lambda mod, inp, out: captured.setdefault("final_norm", []).append(out)))
    for s in (ids[:64], ids[64:]):
        model(torch.tensor([s]))
    for h in hooks:
        h.remove()
    modules = []
    for key, outs in captured.items():
        per = [stats(o) for o in outs]
        modules.append({"name": key, "kurtosis": float(np.mean([p[0] for p in per])),
                        "infinity_norm": float(np.mean([p[1] for p in per])), "samples": len(per)})

    pruned = load("fixtures/pruning/stories260K-finercut4-zeroed")
    total, positions = 0.0, 0
    for begin in range(0, len(ids), 64):
        w = torch.tensor([ids[begin:begin + 64]])
        lp = torch.log_softmax(model(w).logits[0].double(), -1)
        lq = torch.log_softmax(pruned(w).logits[0].double(), -1)
        kl = torch.nn.functional.kl_div(lq, lp, reduction="sum", log_target=True)
        total += float(kl); positions += w.shape[1]
    nf4 = transformers.LlamaForCausalLM.from_pretrained(os.path.join(ROOT, "fixtures/quant/stories260K-bnb-nf4")).eval()
    for mod in nf4.modules():   # bitsandbytes' AVX512-BF16 CPU path asserts out_features % 32 == 0 (stories260K: 172)
        if hasattr(mod, "support_avx512bf16_for_cpu"):
            mod.support_avx512bf16_for_cpu = False
    nll, count = 0.0, 0
    for begin in range(0, len(stream), 128):
        w = torch.tensor([stream[begin:begin + 128]])
        if w.shape[1] < 2:
            continue
        loss = float(nf4(w, labels=w).loss)
        nll += loss * (w.shape[1] - 1); count += w.shape[1] - 1
    out = {"meta": {"generator": "tools/reference/eval_model_reference.py", "torch": torch.__version__,
                    "transformers": transformers.__version__, "numpy": np.__version__,
                    "data": "fixtures/eval/stories260k_samples.tokens, first 128 ids (2 x 64)"},
           "outliers": {"model": "fixtures/models/stories260K", "modules": modules},
           "kl": {"original": "fixtures/models/stories260K", "compressed": "fixtures/pruning/stories260K-finercut4-zeroed",
                  "seq_len": 64, "count": positions, "mean_kl": total / positions},
           "nf4": {"model": "fixtures/quant/stories260K-bnb-nf4", "bitsandbytes": __import__("bitsandbytes").__version__,
                   "seq_len": 128, "count": count, "perplexity": float(np.exp(nll / count))}}
    with open(os.path.join(ROOT, "fixtures/eval/stories260k_model_reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("kl", out["kl"]["mean_kl"], "modules", len(modules))


if __name__ == "__main__":
    main()
