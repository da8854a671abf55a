"""FinerCut reference (ALGORITHMS.md §2) with PyTorch + transformers, for Whittle's pruning tests.

Writes fixtures/pruning/finercut_reference.json:
  * divergences (reference-code JS, textbook JS, angular) of fixed random logits;
  * the full greedy removal order of ../shared/models/stories260K (sublayer outputs zeroed by forward
    hooks, as dissect/models/masking_hook.py does) on the first 2 x 64 ids of
    fixtures/eval/stories260k_samples.tokens, with the divergence at each step;
  * transformers logits of the pruned checkpoints Whittle wrote into fixtures/pruning/*/ (when present),
    so a test can check that stock transformers computes what our runtime computes.
Run: /root/venv/bin/python tools/reference/pruning_finercut.py
"""
import json, math, os, sys
import numpy as np
import torch, transformers, safetensors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("WHITTLE_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
torch.set_grad_enabled(False)


def reference_js(ref, cand):
    """dissect/evaluators/output.py js_divergence: ½[mean(M(logM−logP)) + mean(M(logM−logQ))], mean over all elements."""
    p, q = torch.softmax(ref, -1), torch.softmax(cand, -1)
    m = 0.5 * (p + q)
    lm = m.log()
    return 0.5 * (torch.nn.functional.kl_div(p.log(), m, reduction="mean") + torch.nn.functional.kl_div(q.log(), m, reduction="mean"))


def textbook_js(ref, cand):
    p, q = torch.softmax(ref, -1), torch.softmax(cand, -1)
    m = 0.5 * (p + q)
    kl = lambda a, b: (a * (a.log() - b.log())).sum(-1)
    return (0.5 * (kl(p, m) + kl(q, m))).mean()


def angular(ref, cand):
    cos = torch.nn.functional.cosine_similarity(ref, cand, dim=-1)
    return torch.acos(cos.clamp(0, 1)).mean()


def divergence_cases():
    g = torch.Generator().manual_seed(0)
    ref = torch.randn(6, 17, generator=g, dtype=torch.float64) * 2
    cand = ref + torch.randn(6, 17, generator=g, dtype=torch.float64) * 0.7
    return {"rows": 6, "vocab": 17, "reference": ref.flatten().tolist(), "candidate": cand.flatten().tolist(),
            "reference_js": reference_js(ref, cand).item(), "js": textbook_js(ref, cand).item(), "angular": angular(ref, cand).item()}


def greedy_order(model, ids):
    layers = model.config.num_hidden_layers
    modules = {}
    for i in range(layers):
        modules[f"model.layers.{i}.self_attn.o_proj"] = ("attention", i, model.model.layers[i].self_attn.o_proj)
        modules[f"model.layers.{i}.mlp.down_proj"] = ("mlp", i, model.model.layers[i].mlp.down_proj)
    names = sorted(modules)
    zeroed = set()
    hooks = [modules[n][2].register_forward_hook(lambda mod, inp, out, n=n: out * 0 if n in zeroed else out) for n in names]
    ref = model(ids).logits.double()
    order, candidates = [], list(names)
    while candidates:
        best = None
        for c in candidates:
            zeroed.add(c)
            d = reference_js(ref, model(ids).logits.double()).item()
            zeroed.discard(c)
            if best is None or d < best[1]:
                best = (c, d)
        zeroed.add(best[0]); candidates.remove(best[0])
        kind, layer, _ = modules[best[0]]
        order.append({"layer": layer, "kind": kind, "divergence": best[1]})
    for h in hooks:
        h.remove()
    return order


def hooked_prefix_logits(model, order, count, ids):
    """Logits of the model with the first `count` sublayers of `order` zeroed by forward hooks (no
    checkpoint written by our code involved): what a FinerCut pass removing `count` must compute."""
    modules = {("attention", i): model.model.layers[i].self_attn.o_proj for i in range(model.config.num_hidden_layers)}
    modules.update({("mlp", i): model.model.layers[i].mlp.down_proj for i in range(model.config.num_hidden_layers)})
    hooks = [modules[(o["kind"], o["layer"])].register_forward_hook(lambda mod, inp, out: out * 0) for o in order[:count]]
    logits = model(torch.tensor(ids)).logits
    for h in hooks:
        h.remove()
    return {"removed": count, "ids": ids, "shape": list(logits.shape), "logits": logits.flatten().tolist()}


def pruned_logits():
    out = []
    folder = os.path.join(ROOT, "fixtures", "pruning")
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isfile(os.path.join(path, "config.json")):
            continue
        cfg = json.load(open(os.path.join(path, "config.json")))
        if cfg.get("whittle", {}).get("layout") != "zeroed":
            continue
        arch = cfg["architectures"][0]
        model = getattr(transformers, arch).from_pretrained(path, dtype=torch.float32).eval()
        if arch == "BertForSequenceClassification":
            ids = [[2, 10, 11, 12, 13, 3], [2, 20, 21, 22, 3, 0]]
            mask = [[1] * 6, [1] * 5 + [0]]
            logits = model(torch.tensor(ids), attention_mask=torch.tensor(mask)).logits
            out.append({"checkpoint": name, "ids": ids, "attention_mask": mask, "shape": list(logits.shape), "logits": logits.flatten().tolist()})
        else:
            ids = [[1, 436, 422, 327, 396, 360, 413, 433, 416, 283, 340, 428]]
            logits = model(torch.tensor(ids)).logits
            out.append({"checkpoint": name, "ids": ids, "shape": list(logits.shape), "logits": logits.flatten().tolist()})
    return out


def main():
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM.from_pretrained(os.path.join(SHARED, "models", "stories260K"), dtype=torch.float32).eval()
    lines = open(os.path.join(ROOT, "fixtures", "eval", "stories260k_samples.tokens")).read().split("\n")
    ids = torch.tensor([[int(t) for t in line.split()][:64] for line in lines[:2]])
    result = {
        "meta": {"generator": "tools/reference/pruning_finercut.py", "torch": torch.__version__,
                 "transformers": transformers.__version__, "numpy": np.__version__,
                 "finercut_model": "shared/models/stories260K",
                 "finercut_calibration": "fixtures/eval/stories260k_samples.tokens lines 0-1, first 64 ids each",
                 "divergence": "reference_js (dissect/evaluators/output.py), sublayer outputs zeroed by forward hooks"},
        "divergences": divergence_cases(),
        "finercut_order": greedy_order(model, ids),
        "pruned_checkpoints": pruned_logits(),
    }
    result["finercut4_hooked"] = hooked_prefix_logits(model, result["finercut_order"], 4, [[1, 436, 422, 327, 396, 360, 413, 433, 416, 283, 340, 428]])
    with open(os.path.join(ROOT, "fixtures", "pruning", "finercut_reference.json"), "w") as f:
        json.dump(result, f, indent=1)
    print("order:", [(o["layer"], o["kind"]) for o in result["finercut_order"]])
    print("pruned checkpoints:", [p["checkpoint"] for p in result["pruned_checkpoints"]])


if __name__ == "__main__":
    main()
