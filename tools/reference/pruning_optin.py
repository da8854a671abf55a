"""OPTIN trajectory scores and global selection (ALGORITHMS.md §1.2–1.3), ported to PyTorch from the
reference loop (prune/head_pruning.py, prune/language_pruning.py, prune/loss_components.py @ 00e22ed3)
and run on stock transformers' BertForSequenceClassification (fixtures/models-reference/bert_classifier,
2 layers, 4 heads, 48 FFN neurons).

Per unit u in layer l, with only u removed (head: its context columns zeroed at the output-projection
input, which is what the reference's head_mask does to that head's probabilities; neuron: the FFN
pre-activation multiplied by a 0/1 mask):
  md = Σ_{k>l} MD(F_k_ref, F_k_pruned) (+ MD of F_l when l is the last layer), F_k = output of
       `layer.k.output.dense`, MD = Σ (G_A − G_P)² over L2-normalised rows (all B·T rows: B·T < 768),
  kl = max(0, T² · Σ_batch KL(softmax(ref) ‖ softmax(pruned))), T = 4.
λ-balancing (λ = 10) per kind in scoring order; multipliers: last layer × 0.5, heads × 0.5;
two modes: "faithful" = the reference code (index weights geomspace(1,10,H) / geomspace(1,100,N)
reversed; head mask not reset between layers, so the last head of every earlier layer stays masked)
and "clean" (neither). Global selection `globalRankingLanguage` at flops ratio 0.5 with the MAC model
at s = mean calibration length; the kept units and the logits of the masked model are recorded.

Writes fixtures/pruning/optin_reference.json.
Run: /root/venv/bin/python tools/reference/pruning_optin.py
"""
import json, math, os
import numpy as np
import torch
import transformers

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "../.."))
MODEL = "fixtures/models-reference/bert_classifier"
SENTENCES = [[2, 10, 11, 12, 3], [2, 20, 21, 3], [2, 30, 31, 32, 33, 34, 3]]
FLOPS_RATIO, T, LAMBDA = 0.5, 4.0, 10.0
torch.set_grad_enabled(False)


class Masks:
    """Forward hooks: head context columns and FFN pre-activations scaled by 0/1 masks; FFN outputs recorded."""
    def __init__(self, model):
        cfg = model.config
        self.L, self.H, self.N = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size
        self.dh = cfg.hidden_size // self.H
        self.head = torch.ones(self.L, self.H)
        self.neuron = torch.ones(self.L, self.N)
        self.features = {}
        for l, layer in enumerate(model.bert.encoder.layer):
            layer.attention.output.dense.register_forward_pre_hook(
                lambda m, args, l=l: (args[0] * self.head[l].repeat_interleave(self.dh),))
            layer.intermediate.dense.register_forward_hook(lambda m, i, out, l=l: out * self.neuron[l])
            layer.output.dense.register_forward_hook(lambda m, i, out, l=l: self.features.__setitem__(l, out.detach().clone()))


def md(a, p):
    a = torch.nn.functional.normalize(a.double().reshape(-1, a.shape[-1]), dim=1)
    p = torch.nn.functional.normalize(p.double().reshape(-1, p.shape[-1]), dim=1)
    return float(((a @ a.T - p @ p.T) ** 2).sum())


def kl_sum(ref, pruned):
    lp, lq = torch.log_softmax(ref.double(), -1), torch.log_softmax(pruned.double(), -1)
    return float((lp.exp() * (lp - lq)).sum())


def balance(terms):
    scales, out = [], []
    for m, k in terms:
        if abs(m) > abs(k):
            if k != 0:
                s = 10 ** int(math.log10(abs(m)) - math.log10(abs(k)) - math.log10(LAMBDA))   # int(): toward 0
                scales.append(s); k *= s
        else:
            k *= (sum(scales) / len(scales)) if scales else 1
        out.append(m + k)
    return out


def main():
    model = transformers.BertForSequenceClassification.from_pretrained(os.path.join(ROOT, MODEL), dtype=torch.float32).eval()
    hooks = Masks(model)
    L, H, N = hooks.L, hooks.H, hooks.N
    width = max(map(len, SENTENCES))
    ids = torch.tensor([s + [0] * (width - len(s)) for s in SENTENCES])
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in SENTENCES])
    run = lambda: (model(input_ids=ids, attention_mask=mask).logits, dict(hooks.features))
    ref_logits, ref_features = run()

    def terms_of(layer):
        logits, feats = run()
        ks = list(range(layer + 1, L)) + ([layer] if layer == L - 1 else [])
        return sum(md(ref_features[k], feats[k]) for k in ks), max(0.0, T * T * kl_sum(ref_logits, logits))

    result = {}
    for mode in ["faithful", "clean"]:
        faithful = mode == "faithful"
        units, terms = [], []
        hooks.head.fill_(1)
        for l in range(L):
            for h in range(H):
                if not faithful:
                    hooks.head.fill_(1)
                hooks.head[l, h] = 0
                terms.append(terms_of(l)); units.append(("head", l, h))
                hooks.head[l, h] = 1 if not (faithful and h == H - 1) else 0   # the reference leaves the last head masked
        hooks.head.fill_(1)
        for l in range(L):
            for n in range(N):
                hooks.neuron[l, n] = 0
                terms.append(terms_of(l)); units.append(("neuron", l, n))
                hooks.neuron[l, n] = 1
        importance = [0.0] * len(units)
        for kind, count, top, cls in [("head", H, 10.0, 0.5), ("neuron", N, 100.0, 1.0)]:
            idx = [i for i, u in enumerate(units) if u[0] == kind]
            index_w = np.geomspace(1, top, count)[::-1]
            for i, v in zip(idx, balance([terms[i] for i in idx])):
                _, l, j = units[i]
                w = cls * (0.5 if l == L - 1 else 1) * (index_w[j] if faithful else 1)
                importance[i] = v * w
        # MAC model (utils/mac_complexity.py) at the mean calibration length, and globalRankingLanguage.
        s = sum(map(len, SENTENCES)) / len(SENTENCES)
        d, dh = model.config.hidden_size, hooks.dh
        mac_head, mac_neuron = 3 * s * d * dh + 2 * s * s * dh + s * dh * d, 2 * s * d
        capacity = FLOPS_RATIO * L * (H * mac_head + N * mac_neuron)
        order = lambda kind: sorted([i for i, u in enumerate(units) if u[0] == kind], key=lambda i: (-importance[i], units[i][1], units[i][2]))
        heads, neurons = order("head"), order("neuron")
        best, K, NK = 0.0, 0, 0
        for k in range(1, len(heads) + 1):
            imp = sum(importance[i] for i in heads[:k]); rem = capacity - k * mac_head; n = 0
            while rem >= mac_neuron and n < len(neurons):
                imp += importance[neurons[n]]; n += 1; rem -= mac_neuron
            if imp > best:
                best, K, NK = imp, k, n
        kept_heads = sorted(units[i][1:] for i in heads[:K])
        kept_neurons = sorted(units[i][1:] for i in neurons[:NK])
        hooks.head.fill_(0); hooks.neuron.fill_(0)
        for l, h in kept_heads: hooks.head[l, h] = 1
        for l, n in kept_neurons: hooks.neuron[l, n] = 1
        pruned_logits, _ = run()
        hooks.head.fill_(1); hooks.neuron.fill_(1)
        result[mode] = {"units": [list(u) for u in units], "md": [t[0] for t in terms], "kl": [t[1] for t in terms],
                        "importance": importance, "kept_heads": [list(u) for u in kept_heads],
                        "kept_neurons": [list(u) for u in kept_neurons], "selected_importance": best,
                        "pruned_logits": pruned_logits.flatten().tolist()}
        print(mode, "kept heads", len(kept_heads), "neurons", len(kept_neurons))
    out = {"meta": {"generator": "tools/reference/pruning_optin.py", "torch": torch.__version__,
                    "transformers": transformers.__version__, "numpy": np.__version__, "model": MODEL,
                    "calibration": SENTENCES, "padding": "id 0, attention_mask 0", "flops_ratio": FLOPS_RATIO,
                    "temperature": T, "lambda": LAMBDA, "mac_seq_len": sum(map(len, SENTENCES)) / len(SENTENCES)},
           **result}
    with open(os.path.join(ROOT, "fixtures/pruning/optin_reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
