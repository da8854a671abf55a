"""Reference gradients under training hooks (teacher-intervention style QAT, ALGORITHMS.md §4).

For each case this reuses the checkpoint and the batch of fixtures/training/<case>/ (written by
training_reference.py; nothing is copied) and writes fixtures/training/hooks/<case>/reference.safetensors
with, per hook kind K, `K.loss` [1] and `K.grad.<parameter name>` (transformers names, every parameter;
exact zeros where no gradient reaches a parameter), plus the hook's constant where it has one:

* replace_probabilities: in layer 0 only, the attention probabilities are replaced by the constant
  R = `replace_probabilities.values` [B, NH, T, T] with the gradient stopped (context = R · V, with V
  repeated per GQA group; no gradient reaches q/k through this layer's scores).
* replace_context: in the last layer only, the input of the attention output projection (the
  concatenated per-head context, [B, T, NH·HD]) is replaced by the constant C =
  `replace_context.values` (forward pre-hook returning C.detach()).
* fake_quant_inputs: the input of every linear inside the transformer blocks is fake-quantized,
  8-bit symmetric, dynamic per tensor, clip `clip` (see DEFINITIONS below), straight-through.

and, with no hook, `probabilities.<layer>` [B, NH, T, T]: the softmax output of every layer.
Fp32, model.eval(), attention through a registered eager attention function ("whittle_hooks"),
which reproduces training_reference.py's loss and gradients bit for bit when nothing is replaced.

Run: /root/venv/bin/python tools/reference/hooks_reference.py [case ...]
(no case: llama_gqa, qwen2_tied, gpt2, bert_classifier, mistral — whichever exist in fixtures/training)
"""
import argparse, json, os
import torch, transformers, safetensors
from safetensors.torch import save_file, load_file
from transformers import AttentionInterface, AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification
from transformers.masking_utils import AttentionMaskInterface, eager_mask
from transformers.pytorch_utils import Conv1D

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
TRAINING = os.path.join(ROOT, "fixtures", "training")
OUT = os.path.join(TRAINING, "hooks")
CASES = ["llama_gqa", "qwen2_tied", "gpt2", "bert_classifier", "mistral"]
KINDS = ["replace_probabilities", "replace_context", "fake_quant_inputs"]
R_SEED, C_SEED = 1234, 5678
DEFINITIONS = {
    "def_replace_probabilities":
        "layer 0 only: P = R.detach() instead of softmax(q·kᵀ·scale + mask); context = P · repeat_kv(V) "
        "(head h uses kv head h // (NH/NKV)); R = 0.1 + U[0,1) (torch.Generator seed R_SEED, torch.rand "
        "[B,NH,T,T]) times visible, rows divided by their sum (all-zero rows stay zero); visible[b,i,j] = "
        "attention_mask[b,j] == 1 and (j <= i for causal decoders)",
    "def_replace_context":
        "last layer only: forward pre-hook on the attention output projection (o_proj / attn.c_proj / "
        "attention.output.dense) returning C.detach(), C = 0.5 * torch.randn([B,T,NH*HD]) (torch.Generator "
        "seed C_SEED); the projection's weight and bias still get gradients",
    "def_fake_quant_inputs":
        "forward pre-hook on every linear inside the blocks (not embeddings, lm_head, pooler, classifier): "
        "xc = clamp(x, -clip, clip); s = max|xc| over the whole input tensor [B,T,in] (padded positions "
        "included), detached, / 127, s = 1 if 0; x' = xc + (round_half_even(xc / s) * s - xc).detach() — "
        "forward round(xc/s)*s, backward 1 where -clip <= x <= clip and 0 elsewhere; each linear quantizes "
        "its own input (q/k/v and gate/up see the same values)",
}


# ---- attention ------------------------------------------------------------------------------------
STATE = {"replace": None, "capture": None}   # replace: (layer index, R) or None; capture: dict or None


def hooks_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """transformers' eager attention (Llama/Qwen2/Mistral/GPT-2/BERT agree on it in fp32) with a
    probabilities site: capture the softmax output, or replace it in one layer by a constant."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    groups = query.shape[1] // key.shape[1]
    if groups > 1:
        key, value = key.repeat_interleave(groups, dim=1), value.repeat_interleave(groups, dim=1)
    w = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        w = w + attention_mask
    p = torch.softmax(w, dim=-1, dtype=torch.float32).to(query.dtype)
    layer = module.layer_idx
    if STATE["capture"] is not None:
        STATE["capture"][layer] = p.detach().clone()
    if STATE["replace"] is not None and STATE["replace"][0] == layer:
        p = STATE["replace"][1].detach()
    p = torch.nn.functional.dropout(p, p=dropout, training=module.training)
    return torch.matmul(p, value).transpose(1, 2).contiguous(), p


AttentionInterface.register("whittle_hooks", hooks_attention)
AttentionMaskInterface.register("whittle_hooks", eager_mask)


# ---- model structure ------------------------------------------------------------------------------
def blocks(model):
    if hasattr(model, "bert"):
        return model.bert.encoder.layer
    if hasattr(model, "transformer"):
        return model.transformer.h
    return model.model.layers


def out_projection(block):
    if hasattr(block, "self_attn"):
        return block.self_attn.o_proj
    if hasattr(block, "attn"):
        return block.attn.c_proj
    return block.attention.output.dense


def block_linears(model):
    """(name, module) of every linear inside the transformer blocks, transformers' module names."""
    found = []
    for name, mod in model.named_modules():
        if isinstance(mod, (torch.nn.Linear, Conv1D)) and any(
                name.startswith(prefix) for prefix in ("model.layers.", "transformer.h.", "bert.encoder.layer.")):
            found.append((name, mod))
    return found


def load(case):
    folder = os.path.join(TRAINING, case)
    config = AutoConfig.from_pretrained(folder)
    cls = AutoModelForSequenceClassification if "ForSequenceClassification" in config.architectures[0] \
        else AutoModelForCausalLM
    model = cls.from_pretrained(folder, attn_implementation="whittle_hooks", dtype=torch.float32)
    model.eval()
    ref = load_file(os.path.join(folder, "reference.safetensors"))
    batch = {k: ref[k] for k in ("input_ids", "attention_mask", "token_type_ids", "labels") if k in ref}
    return model, config, batch, ref


def forward_backward(model, batch):
    model.zero_grad(set_to_none=True)
    loss = model(**batch).loss
    loss.backward()
    grads = {}
    for name, p in model.named_parameters():
        grads[name] = torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
    model.zero_grad(set_to_none=True)
    return loss.detach().reshape(1), grads


def fake_quant(x, clip):
    xc = torch.clamp(x, -clip, clip)
    s = xc.detach().abs().max() / 127
    if s == 0:
        s = torch.ones_like(s)
    return xc + (torch.round(xc / s) * s - xc).detach()


# ---- one case -------------------------------------------------------------------------------------
def run(case):
    model, config, batch, ref = load(case)
    causal = not isinstance(model, transformers.BertPreTrainedModel)
    n_layers = len(blocks(model))
    last = n_layers - 1
    ids = batch["input_ids"]
    B, T = ids.shape
    NH = config.num_attention_heads
    hidden = config.hidden_size
    HD = getattr(config, "head_dim", None) or hidden // NH
    mask = batch.get("attention_mask", torch.ones(B, T, dtype=torch.long))

    # 0. no hook: reproduce training_reference.py and capture the probabilities.
    STATE["capture"] = {}
    loss0, grads0 = forward_backward(model, batch)
    probs = STATE["capture"]
    STATE["capture"] = None
    assert abs(loss0.item() - ref["loss"].item()) <= 1e-6, (case, loss0.item(), ref["loss"].item())
    gdiff = max((grads0[n] - ref["grad." + n]).abs().max().item() for n in grads0)
    assert set("grad." + n for n in grads0) == {k for k in ref if k.startswith("grad.")}
    print(f"{case}: no hook loss {loss0.item():.9g} (stored {ref['loss'].item():.9g}), max |grad - stored| {gdiff:.3g}")
    tensors = {f"probabilities.{l}": probs[l].contiguous() for l in range(n_layers)}

    # visibility and R
    visible = (mask[:, None, None, :] == 1).expand(B, NH, T, T)
    if causal:
        visible = visible & torch.ones(T, T, dtype=torch.bool).tril()
    assert torch.equal(visible, probs[0] > 0), "visibility rule disagrees with the model's mask"
    g = torch.Generator().manual_seed(R_SEED)
    R = (0.1 + torch.rand(B, NH, T, T, generator=g)) * visible
    rowsum = R.sum(-1, keepdim=True)
    R = torch.where(rowsum > 0, R / torch.where(rowsum > 0, rowsum, torch.ones_like(rowsum)), torch.zeros_like(R))
    g = torch.Generator().manual_seed(C_SEED)
    C = 0.5 * torch.randn(B, T, NH * HD, generator=g)

    results = {}
    # 1. replace_probabilities
    STATE["replace"] = (0, R)
    results["replace_probabilities"] = forward_backward(model, batch)
    STATE["replace"] = None
    tensors["replace_probabilities.values"] = R.contiguous()

    # 2. replace_context
    h = out_projection(blocks(model)[last]).register_forward_pre_hook(lambda mod, args: (C.detach(),) + args[1:])
    results["replace_context"] = forward_backward(model, batch)
    h.remove()
    tensors["replace_context.values"] = C.contiguous()

    # 3. fake_quant_inputs: clip 2.5 unless nothing clips ≥ 1 % anywhere, then 1.0
    linears = block_linears(model)
    for clip in (2.5, 1.0):
        fractions, handles = {}, []
        for name, mod in linears:
            def pre(mod, args, name=name):
                x = args[0]
                fractions[name] = (x.detach().abs() > clip).float().mean().item()
                return (fake_quant(x, clip),) + args[1:]
            handles.append(mod.register_forward_pre_hook(pre))
        res = forward_backward(model, batch)
        for hd in handles:
            hd.remove()
        if max(fractions.values()) >= 0.01:
            break
    results["fake_quant_inputs"] = res

    for kind, (loss, grads) in results.items():
        tensors[f"{kind}.loss"] = loss
        for n, gr in grads.items():
            tensors[f"{kind}.grad.{n}"] = gr.contiguous()

    # ---- sanity: what the hooks change and which gradients are exactly zero ----
    report = {}
    for kind, (loss, grads) in results.items():
        zero = [n for n, gr in grads.items() if not gr.any()]
        zero_before = [n for n, gr in grads0.items() if not gr.any()]
        partly = {n: int((gr == 0).sum()) for n, gr in grads.items()
                  if gr.any() and (gr == 0).sum() > (grads0[n] == 0).sum()}
        report[kind] = dict(loss=loss.item(), zero=zero, zero_before=zero_before, partly=partly)
        print(f"  {kind}: loss {loss.item():.9g} (Δ {loss.item() - loss0.item():+.3g}); all-zero grads: {zero}")
        if partly:
            print(f"    more exact zeros than without hooks: {partly}")
    print(f"  fake_quant clip {clip}; clipped fraction per linear: "
          + ", ".join(f"{n}={f:.3f}" for n, f in fractions.items()))
    # the stopped paths get exactly zero gradient (for GPT-2: the q and k columns of the fused c_attn)
    names = {id(p): n for n, p in model.named_parameters()}
    expected = {}
    for kind, layer, which in (("replace_probabilities", 0, "qk"), ("replace_context", last, "qkv")):
        expected[kind] = []
        for p, m in attention_parts(model, layer, which):
            n = names[id(p)]
            assert not results[kind][1][n][m].any(), (kind, n)
            expected[kind].append(n if m.all() else f"{n}[..., 0:{int(m.sum()) // (m.numel() // m.shape[-1])}]")
        print(f"  {kind}: exactly zero as expected: {expected[kind]}")
    # forward semantics: the replaced paths do not influence the loss.
    R_hook = lambda: STATE.update(replace=(0, R))
    print(f"  replace_probabilities: perturbing layer-0 q/k moves the loss by "
          f"{perturbed_delta(model, batch, attention_parts(model, 0, 'qk'), R_hook):.3g}")
    h = out_projection(blocks(model)[last]).register_forward_pre_hook(lambda mod, args: (C.detach(),) + args[1:])
    print(f"  replace_context: perturbing layer-{last} q/k/v moves the loss by "
          f"{perturbed_delta(model, batch, attention_parts(model, last, 'qkv'), lambda: None):.3g}")
    h.remove()
    STATE["replace"] = None

    meta = {"generator": "tools/reference/hooks_reference.py", "torch": torch.__version__,
            "transformers": transformers.__version__, "safetensors": safetensors.__version__,
            "case": case, "model": f"training/{case}", "batch": f"training/{case}/reference.safetensors",
            "kinds": ",".join(KINDS), "replace_probabilities_layer": "0", "replace_context_layer": str(last),
            "clip": str(clip), "r_seed": str(R_SEED), "c_seed": str(C_SEED),
            "num_layers": str(n_layers), "num_heads": str(NH), "head_dim": str(HD),
            "fake_quant_linears": ",".join(n for n, _ in linears),
            "fake_quant_clipped_fraction": json.dumps({n: round(f, 6) for n, f in fractions.items()}),
            "zero_grads": json.dumps({k: v["zero"] for k, v in report.items()}),
            "stopped_grads": json.dumps(expected),
            **{k: v.replace("R_SEED", str(R_SEED)).replace("C_SEED", str(C_SEED)) for k, v in DEFINITIONS.items()}}
    folder = os.path.join(OUT, case)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "reference.safetensors")
    save_file(tensors, path, metadata=meta)
    os.chmod(path, 0o644)
    return report


def attention_parts(model, layer, which):
    """(parameter, boolean mask of its q / k / v entries) of one layer's attention projections."""
    parts = []
    block = blocks(model)[layer]
    if hasattr(block, "attn"):                      # GPT-2: fused Conv1D c_attn, weight [in, 3H], bias [3H]
        H = model.config.hidden_size
        for p in (block.attn.c_attn.weight, block.attn.c_attn.bias):
            m = torch.zeros_like(p, dtype=torch.bool)
            for i, c in enumerate("qkv"):
                if c in which:
                    m[..., i * H:(i + 1) * H] = True
            parts.append((p, m))
        return parts
    names = {"q": ("q_proj", "query"), "k": ("k_proj", "key"), "v": ("v_proj", "value")}
    attn = block.self_attn if hasattr(block, "self_attn") else block.attention.self
    for c in which:
        for n in names[c]:
            if hasattr(attn, n):
                for p in getattr(attn, n).parameters():
                    parts.append((p, torch.ones_like(p, dtype=torch.bool)))
    return parts


def perturbed_delta(model, batch, parts, setup):
    with torch.no_grad():
        setup()
        base = model(**batch).loss.item()
        saved = [p.clone() for p, _ in parts]
        for p, m in parts:
            p.add_(torch.randn(p.shape) * m)
        moved = model(**batch).loss.item()
        for (p, _), s in zip(parts, saved):
            p.copy_(s)
        assert model(**batch).loss.item() == base
    return moved - base


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", metavar="case", help="default: " + ", ".join(CASES))
    args = parser.parse_args()
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error("unknown case(s): " + ", ".join(unknown))
    torch.manual_seed(0)
    for case in args.cases or [c for c in CASES if os.path.isdir(os.path.join(TRAINING, c))]:
        run(case)


if __name__ == "__main__":
    main()
