"""OPTIN trajectory scoring (ALGORITHMS.md §1.2), a PyTorch port of the reference loop for timing
(prune/head_pruning.py, prune/language_pruning.py, prune/loss_components.py @ 00e22ed3) on a stock
transformers BertForSequenceClassification (e.g. ../shared/models/minilm-l6-sst2).

As the reference: one unit at a time, a whole forward of the padded calibration batch per unit, with
only that unit removed (head: its context columns zeroed at the output-projection input, what the
reference's head_mask does; neuron: the FFN pre-activation multiplied by a 0/1 mask). Per unit in layer l:
  md = Σ_{k>l} MD(F_k_ref, F_k_pruned) (+ MD of F_l when l is the last layer), F_k = output of
       `layer.k.output.dense`, MD = Σ (G_A − G_P)² over L2-normalised rows,
  kl = max(0, T² · Σ_batch KL(softmax(ref) ‖ softmax(pruned))), T = 4.
Heads with a reset mask (the clean mode, Whittle's default), then neurons, in canonical order.
Feature rows: the real tokens (`exclude_padding`, the default of `whittle-bench pruning optin`), or with
--padded every B·T row as the reference; all rows are used (the reference samples 768 rows only when
B·T > 768, refused here, since the draw cannot match another implementation's RNG).

Independent of Whittle's code: it reads only the model folder and the calibration token ids
(`whittle-bench optin-speed` writes them, so both sides score the same sentences).

Prints one JSON line {"wall": s, "cpu": s, "units": n, "real_tokens": r} (scoring only: the reference
forward and every unit; the model load is excluded) and writes the terms to --out.
Run: /root/venv/bin/python tools/reference/optin_scoring_port.py --model ../shared/models/minilm-l6-sst2 \
       --calibration calib.json --out port_scores.json [--threads 2] [--padded] [--limit N]
"""
import argparse, json, resource, time
import torch
import transformers

T = 4.0


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


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
            layer.output.dense.register_forward_hook(lambda m, i, out, l=l: self.features.__setitem__(l, out))


def normalized_gram(x):
    a = torch.nn.functional.normalize(x.double(), dim=1)
    return a @ a.T


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--calibration", required=True, help="JSON list of {\"ids\": [...], \"token_types\": [...]}")
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--padded", action="store_true", help="feature rows include padding (the reference's rows)")
    p.add_argument("--limit", type=int, default=0, help="score only the first N units of each kind (a quick check)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    model = transformers.BertForSequenceClassification.from_pretrained(args.model, dtype=torch.float32).eval()
    with open(args.calibration) as f:
        calib = json.load(f)
    hooks = Masks(model)
    L, H, N = hooks.L, hooks.H, hooks.N
    width = max(len(e["ids"]) for e in calib)
    pad = model.config.pad_token_id or 0
    ids = torch.tensor([e["ids"] + [pad] * (width - len(e["ids"])) for e in calib])
    types = torch.tensor([e.get("token_types", [0] * len(e["ids"])) + [0] * (width - len(e["ids"])) for e in calib])
    mask = torch.tensor([[1] * len(e["ids"]) + [0] * (width - len(e["ids"])) for e in calib])
    rows = torch.ones_like(mask, dtype=torch.bool).flatten() if args.padded else mask.bool().flatten()
    if int(rows.sum()) > 768:
        raise SystemExit(f"{args.calibration}: {int(rows.sum())} feature rows > 768 (the reference samples rows; not reproducible)")

    def run():
        logits = model(input_ids=ids, token_type_ids=types, attention_mask=mask).logits
        return logits, [hooks.features[k].reshape(-1, hooks.features[k].shape[-1])[rows] for k in range(L)]

    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    ref_logits, ref_features = run()
    ref_grams = [normalized_gram(f) for f in ref_features]
    lp = torch.log_softmax(ref_logits.double(), -1)

    def terms_of(layer):
        logits, feats = run()
        ks = list(range(layer + 1, L)) + ([layer] if layer == L - 1 else [])
        md = sum(float(((ref_grams[k] - normalized_gram(feats[k])) ** 2).sum()) for k in ks)
        lq = torch.log_softmax(logits.double(), -1)
        return md, max(0.0, T * T * float((lp.exp() * (lp - lq)).sum()))

    units, terms = [], []
    for l in range(L):
        for h in range(H if not args.limit else min(H, args.limit)):
            hooks.head[l, h] = 0
            terms.append(terms_of(l)); units.append(("head", l, h))
            hooks.head[l, h] = 1
    for l in range(L):
        for n in range(N if not args.limit else min(N, args.limit)):
            hooks.neuron[l, n] = 0
            terms.append(terms_of(l)); units.append(("neuron", l, n))
            hooks.neuron[l, n] = 1
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    with open(args.out, "w") as f:
        json.dump({"meta": {"generator": "tools/reference/optin_scoring_port.py", "torch": torch.__version__,
                            "transformers": transformers.__version__, "model": args.model, "threads": args.threads,
                            "padded_rows": args.padded, "temperature": T},
                   "units": [list(u) for u in units], "md": [t[0] for t in terms], "kl": [t[1] for t in terms]}, f)
    print(json.dumps({"wall": wall, "cpu": cpu, "units": len(units), "real_tokens": int(mask.sum())}), flush=True)


if __name__ == "__main__":
    main()
