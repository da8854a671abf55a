"""Reference for the Teacher-Intervention distillation losses and interventions (ALGORITHMS.md §4.2–4.3).

Teacher: fixtures/training/bert_classifier (its batch from that folder's reference.safetensors).
Student: the same weights plus 0.05·N(0, 1) noise on every parameter (torch.Generator seed STUDENT_SEED),
written to fixtures/training/distill/bert_classifier/student/ (config.json + model.safetensors).

fixtures/training/distill/bert_classifier/reference.safetensors holds, per kind K in KINDS:
`K.loss` [1], `K.pred`, `K.rep`, `K.attn`, `K.out` [1] (the four terms) and `K.grad.<name>` for every
student parameter (exact zeros where no gradient reaches it). The kinds:

* kd    — no intervention: L = L_pred + L_rep + L_attn + L_out.
* ti_m  — every layer: softmax probabilities replaced by the teacher's (detached); the inputs of the
          query and key projections detached (`hidden_states.detach()`), the value's not.
* ti_c  — every layer: the input of attention.output.dense (per-head context) replaced by the teacher's;
          query, key and value inputs detached.
* ti_o  — every layer: the output of attention.output.dense replaced by the teacher's (before the
          residual and LayerNorm); query, key and value inputs detached.

Loss definitions (TI main.py, TinyBERT/TernaryBERT):
  L_pred = mean_b Σ_c −softmax(z_T)·log_softmax(z_S)
  L_rep  = Σ_{l=0..L} MSE(hidden_states_S[l], hidden_states_T[l])   (embedding output + every layer)
  L_attn = Σ_l MSE(where(A_S ≤ −100, 0, A_S), where(A_T ≤ −100, 0, A_T)), A = q·kᵀ·scale + additive mask
  L_out  = Σ_l MSE(attention output after residual + LayerNorm)       (BertAttention's output)
The student's own scores enter L_attn under every intervention.

The same four kinds with the suffix `_q` run TI's quantized student (ALGORITHMS.md §4.1): every encoder
linear's weight and the pooler's ternary TWN per layer, the word embedding TWN per row (clamped to ±2.5
first), 8-bit symmetric per-tensor activations (±2.5) at the input of every encoder linear and on Q, K,
V and the probabilities (after the intervention's replacement, as TI), all with the clipped
straight-through gradient (quantizers restated in tools/reference/quant_fake.py). Gradients of the
parametrized weights are reported under the weights' own names. The quantized student is the student
plus 0.01·N(0, 1) (seed QUANT_SEED), written to student_q/: a seed for which no activation code lies
within 3e-5 of a rounding tie (TI's round(x·s) and Whittle's round(x/scale) differ by up to ~2e-5 in
code units, so a nearer tie may round differently: one code, gradients off by 1e-3) and no weight
within 1e-5·Δ of TWN's threshold (torch sums in Float32, Whittle in Double); the script refuses a
seed that does not. Seeds 7–11 do not pass; 12 does.

Run: /root/venv/bin/python tools/reference/distillation_reference.py
"""
import json, os
import torch, transformers, safetensors
from safetensors.torch import save_file, load_file
from transformers import AttentionInterface, AutoModelForSequenceClassification
from transformers.masking_utils import AttentionMaskInterface, eager_mask

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CASE = os.path.join(ROOT, "fixtures", "training", "bert_classifier")
OUT = os.path.join(ROOT, "fixtures", "training", "distill", "bert_classifier")
KINDS = ["kd", "ti_m", "ti_c", "ti_o"]
STUDENT_SEED = 99
QUANT_SEED = 12
MARGIN = {"tie": float("inf"), "delta": float("inf")}

STATE = {"scores": None, "probs": None, "replace_probs": None, "quantize": False}

import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quant_fake import STE, twn, sym  # noqa: E402


def act(x):
    """TI's 8-bit symmetric per-tensor activation quantizer (clipped STE), when the student is quantized."""
    if not STATE["quantize"]:
        return x
    with torch.no_grad():
        r = torch.clamp(x, -2.5, 2.5) * (127 / torch.clamp(x, -2.5, 2.5).abs().max())
        MARGIN["tie"] = min(MARGIN["tie"], ((r - r.floor()) - 0.5).abs().min().item())
    return STE.apply(x, lambda v: sym(v, 8, False))


class Ternary(torch.nn.Module):
    def __init__(self, rowwise):
        super().__init__()
        self.rowwise = rowwise

    def forward(self, w):
        with torch.no_grad():
            a = torch.clamp(w, -2.5, 2.5).abs()
            delta = 0.7 * (a.mean(dim=1, keepdim=True) if self.rowwise else a.mean())
            MARGIN["delta"] = min(MARGIN["delta"], ((a - delta).abs() / delta).min().item())
        return STE.apply(w, lambda v: twn(v, self.rowwise))


def quantize_weights(model):
    from torch.nn.utils import parametrize
    for layer in model.bert.encoder.layer:
        for lin in (layer.attention.self.query, layer.attention.self.key, layer.attention.self.value,
                    layer.attention.output.dense, layer.intermediate.dense, layer.output.dense):
            parametrize.register_parametrization(lin, "weight", Ternary(False))
    parametrize.register_parametrization(model.bert.pooler.dense, "weight", Ternary(False))
    parametrize.register_parametrization(model.bert.embeddings.word_embeddings, "weight", Ternary(True))


def ti_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    query, key, value = act(query), act(key), act(value)
    w = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        w = w + attention_mask
    layer = module.layer_idx
    STATE["scores"][layer] = w
    p = torch.softmax(w, dim=-1)
    STATE["probs"][layer] = p
    if STATE["replace_probs"] is not None:
        p = STATE["replace_probs"][layer].detach()
    p = act(p)
    return torch.matmul(p, value).transpose(1, 2).contiguous(), p


AttentionInterface.register("whittle_ti", ti_attention)
AttentionMaskInterface.register("whittle_ti", eager_mask)


def load(folder):
    m = AutoModelForSequenceClassification.from_pretrained(folder, attn_implementation="whittle_ti", dtype=torch.float32)
    m.eval()
    return m


def run(model, batch, kind=None, teacher=None):
    """Forward with captures; `kind` installs the intervention from `teacher`'s captures."""
    n = len(model.bert.encoder.layer)
    STATE.update(scores=[None] * n, probs=[None] * n, replace_probs=None)
    ctx, dense_out, attn_out, handles = [None] * n, [None] * n, [None] * n, []
    for l, layer in enumerate(model.bert.encoder.layer):
        att = layer.attention
        def pre_dense(mod, args, l=l):
            ctx[l] = args[0]
            x = teacher["ctx"][l].detach() if kind == "ti_c" else args[0]
            return (act(x),) + args[1:]
        def post_dense(mod, args, out, l=l):
            dense_out[l] = out
            if kind == "ti_o":
                return teacher["dense_out"][l].detach()
        def post_attention(mod, args, out, l=l):
            attn_out[l] = out[0] if isinstance(out, tuple) else out
        handles += [att.output.dense.register_forward_pre_hook(pre_dense),
                    att.output.dense.register_forward_hook(post_dense),
                    att.register_forward_hook(post_attention)]
        detached = {"ti_m": ("query", "key"), "ti_c": ("query", "key", "value"), "ti_o": ("query", "key", "value")}.get(kind, ())
        for name in ("query", "key", "value"):
            cut = name in detached
            handles.append(getattr(att.self, name).register_forward_pre_hook(
                lambda mod, args, cut=cut: ((act(args[0]).detach() if cut else act(args[0])),) + args[1:]))
        for lin in (layer.intermediate.dense, layer.output.dense):
            handles.append(lin.register_forward_pre_hook(lambda mod, args: (act(args[0]),) + args[1:]))
    if kind == "ti_m":
        STATE["replace_probs"] = teacher["probs"]
    out = model(**batch, output_hidden_states=True)
    for h in handles:
        h.remove()
    STATE["replace_probs"] = None
    return dict(logits=out.logits, hidden=list(out.hidden_states), scores=list(STATE["scores"]), probs=list(STATE["probs"]),
                ctx=ctx, dense_out=dense_out, attn_out=attn_out)


def masked(a):
    return torch.where(a <= -1e2, torch.zeros_like(a), a)


def losses(s, t):
    mse = torch.nn.functional.mse_loss
    pred = (-torch.softmax(t["logits"], -1) * torch.log_softmax(s["logits"], -1)).sum(-1).mean()
    rep = sum(mse(a, b) for a, b in zip(s["hidden"], t["hidden"]))
    attn = sum(mse(masked(a), masked(b)) for a, b in zip(s["scores"], t["scores"]))
    out = sum(mse(a, b) for a, b in zip(s["attn_out"], t["attn_out"]))
    return pred, rep, attn, out


def main():
    torch.manual_seed(0)
    teacher = load(CASE)
    ref = load_file(os.path.join(CASE, "reference.safetensors"))
    batch = {k: ref[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in ref}
    student = load(CASE)
    g = torch.Generator().manual_seed(STUDENT_SEED)
    with torch.no_grad():
        for p in student.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    os.makedirs(os.path.join(OUT, "student"), exist_ok=True)
    student.save_pretrained(os.path.join(OUT, "student"))
    os.chmod(os.path.join(OUT, "student", "model.safetensors"), 0o644)

    with torch.no_grad():
        t = run(teacher, batch)
        t = {k: ([x.detach() for x in v] if isinstance(v, list) else v.detach()) for k, v in t.items()}
    tensors = {}
    quantized = load(os.path.join(OUT, "student"))
    gq = torch.Generator().manual_seed(QUANT_SEED)
    with torch.no_grad():
        for p in quantized.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=gq))
    quantized.save_pretrained(os.path.join(OUT, "student_q"))
    os.chmod(os.path.join(OUT, "student_q", "model.safetensors"), 0o644)
    quantize_weights(quantized)
    for kind in KINDS + [k + "_q" for k in KINDS]:
        model = quantized if kind.endswith("_q") else student
        STATE["quantize"] = kind.endswith("_q")
        base = kind[:-2] if kind.endswith("_q") else kind
        model.zero_grad(set_to_none=True)
        s = run(model, batch, None if base == "kd" else base, t)
        pred, rep, attn, out = losses(s, t)
        loss = pred + rep + attn + out
        loss.backward()
        tensors[f"{kind}.loss"] = loss.detach().reshape(1)
        for name, v in (("pred", pred), ("rep", rep), ("attn", attn), ("out", out)):
            tensors[f"{kind}.{name}"] = v.detach().reshape(1)
        zero = []
        for name, p in model.named_parameters():
            name = name.replace(".parametrizations.weight.original", ".weight")
            gr = torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
            tensors[f"{kind}.grad.{name}"] = gr.contiguous()
            if not gr.any():
                zero.append(name)
        print(f"{kind}: loss {loss.item():.6g} (pred {pred.item():.4g} rep {rep.item():.4g} attn {attn.item():.4g} out {out.item():.4g}); zero grads: {zero}")
    print("margins of the quantized student:", MARGIN)
    if MARGIN["tie"] < 3e-5 or MARGIN["delta"] < 1e-5:
        raise SystemExit(f"QUANT_SEED {QUANT_SEED}: an activation or weight lies at a rounding boundary {MARGIN}; choose another seed")
    meta = {"generator": "tools/reference/distillation_reference.py", "torch": torch.__version__,
            "transformers": transformers.__version__, "safetensors": safetensors.__version__,
            "teacher": "training/bert_classifier", "student_seed": str(STUDENT_SEED), "quant_seed": str(QUANT_SEED), "kinds": ",".join(KINDS + [k + "_q" for k in KINDS])}
    path = os.path.join(OUT, "reference.safetensors")
    save_file(tensors, path, metadata=meta)
    os.chmod(path, 0o644)


if __name__ == "__main__":
    main()
