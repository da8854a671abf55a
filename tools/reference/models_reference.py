"""Reference fixtures for the Models module (issue 7).

Builds tiny random transformers models for every supported family and option, saves each as a
checkpoint folder under fixtures/models-reference/<case>/ (config.json + model.safetensors), and
dumps inputs, outputs and per-layer sublayer activations into <case>/reference.safetensors.
Also dumps reference logits of the real ../shared/models/stories260K and minilm-l6-sst2.

Run: /root/venv/bin/python tools/reference/models_reference.py
Attention runs with attn_implementation="eager" (exact softmax(QK^T)V, fp32).
Hooks (head mask, neuron mask, skipped sublayers) are applied with PyTorch module hooks in the
same places our ForwardOptions apply them; clipped softmax is a registered attention function.
"""
import json, os, shutil, sys
import torch, transformers, safetensors
from safetensors.torch import save_file, load_file
from transformers import (AttentionInterface, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM,
                          MistralConfig, MistralForCausalLM, GPT2Config, GPT2LMHeadModel, BertConfig, BertModel,
                          BertForSequenceClassification)
from transformers.masking_utils import AttentionMaskInterface, eager_mask

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "fixtures", "models-reference")
SHARED = os.path.join(ROOT, "..", "shared", "models")
META = {"generator": "tools/reference/models_reference.py", "torch": torch.__version__,
        "transformers": transformers.__version__, "safetensors": safetensors.__version__}
CLIP = {"gamma": -0.1, "zeta": 1.1}


def repeat_kv(x, n):
    return x if n == 1 else x.repeat_interleave(n, dim=1)


def clipped_attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    groups = query.shape[1] // key.shape[1]
    k, v = repeat_kv(key, groups), repeat_kv(value, groups)
    w = torch.matmul(query, k.transpose(2, 3)) * scaling
    if attention_mask is not None:
        w = w + attention_mask
    p = torch.softmax(w, dim=-1, dtype=torch.float32)
    p = torch.clamp((CLIP["zeta"] - CLIP["gamma"]) * p + CLIP["gamma"], 0, 1)
    return torch.matmul(p, v).transpose(1, 2).contiguous(), p


AttentionInterface.register("clipped", clipped_attention)
AttentionMaskInterface.register("clipped", eager_mask)


def randomize(model, seed):
    """Non-trivial random weights (defaults are too small to exercise every path)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in name.lower() or "ln_" in name):
                if name.endswith("bias"):
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p.shape[-1] if "wte" not in name and "embed" not in name else 4
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)


# Module names per family: (layer list, {point: (module suffix, "in"|"out")}).
POINTS = {
    "llama": ("model.layers", {
        "attentionInput": ("self_attn.q_proj", "in"), "attentionContext": ("self_attn.o_proj", "in"),
        "attentionOutput": ("self_attn.o_proj", "out"), "ffnInput": ("mlp.gate_proj", "in"),
        "ffnPreActivation": ("mlp.gate_proj", "out"), "ffnActivation": ("mlp.down_proj", "in"),
        "ffnOutput": ("mlp.down_proj", "out"), "blockOutput": ("", "out")}),
    "gpt2": ("transformer.h", {
        "attentionInput": ("attn.c_attn", "in"), "attentionContext": ("attn.c_proj", "in"),
        "attentionOutput": ("attn.c_proj", "out"), "ffnInput": ("mlp.c_fc", "in"),
        "ffnPreActivation": ("mlp.c_fc", "out"), "ffnActivation": ("mlp.c_proj", "in"),
        "ffnOutput": ("mlp.c_proj", "out"), "blockOutput": ("", "out")}),
    "bert": ("encoder.layer", {
        "attentionInput": ("attention.self.query", "in"), "attentionContext": ("attention.output.dense", "in"),
        "attentionOutput": ("attention.output.dense", "out"), "ffnInput": ("intermediate.dense", "in"),
        "ffnPreActivation": ("intermediate.dense", "out"), "ffnActivation": ("output.dense", "in"),
        "ffnOutput": ("output.dense", "out"), "blockOutput": ("", "out")}),
}
# (attention output projection, first FFN linear (pre-activation), FFN output) per family.
HOOK_SITES = {"llama": ("self_attn.o_proj", "mlp.gate_proj", "mlp.down_proj"),
              "gpt2": ("attn.c_proj", "mlp.c_fc", "mlp.c_proj"),
              "bert": ("attention.output.dense", "intermediate.dense", "output.dense")}


def layers_of(model, family):
    path = POINTS[family][0]
    base = model.bert if hasattr(model, "bert") else model
    if family == "bert":
        return base.encoder.layer
    obj = model
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def sub(module, path):
    for part in [p for p in path.split(".") if p]:
        module = getattr(module, part)
    return module


def run_case(name, family, model, inputs, head_dim, head_mask=None, neuron_mask=None, skip=(), pruned=None):
    layers = layers_of(model, family)
    captures, handles = {}, []
    o_site, fc1_site, fc2_site = HOOK_SITES[family]
    for i, layer in enumerate(layers):
        if head_mask is not None:
            m = torch.tensor(head_mask[i], dtype=torch.float32).repeat_interleave(head_dim)
            handles.append(sub(layer, o_site).register_forward_pre_hook(lambda mod, args, m=m: (args[0] * m,)))
        if neuron_mask is not None:
            m = torch.tensor(neuron_mask[i], dtype=torch.float32)
            handles.append(sub(layer, fc1_site).register_forward_hook(lambda mod, args, out, m=m: out * m))
        if (i, "attention") in skip:
            handles.append(sub(layer, o_site).register_forward_hook(lambda mod, args, out: torch.zeros_like(out)))
        if (i, "mlp") in skip:
            handles.append(sub(layer, fc2_site).register_forward_hook(lambda mod, args, out: torch.zeros_like(out)))
    for i, layer in enumerate(layers):
        for point, (path, where) in POINTS[family][1].items():
            if (i, "attention") in skip and point.startswith("attention"):
                continue
            if (i, "mlp") in skip and point.startswith("ffn"):
                continue
            def hook(mod, args, out, key=f"capture.{i}.{point}", where=where):
                t = args[0] if where == "in" else (out[0] if isinstance(out, tuple) else out)
                captures[key] = t.detach().clone().contiguous()
            handles.append(sub(layer, path).register_forward_hook(hook))
    with torch.no_grad():
        out = model(**inputs)
    for h in handles:
        h.remove()
    primary = out.logits if hasattr(out, "logits") else out.last_hidden_state
    folder = os.path.join(OUT, name)
    tensors = {"output": primary.contiguous(), **captures}
    for k, v in inputs.items():
        tensors[k] = v.to(torch.int32).contiguous()
    meta = dict(META, case=name)
    if head_mask is not None:
        tensors["head_mask"] = torch.tensor(head_mask, dtype=torch.float32)
    if neuron_mask is not None:
        tensors["neuron_mask"] = torch.tensor(neuron_mask, dtype=torch.float32)
    meta["skip"] = json.dumps(sorted([list(s) for s in skip]))
    save_file(tensors, os.path.join(folder, "reference.safetensors"), metadata=meta)


def save_model(name, model, pruned=None):
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder)
    for extra in ("generation_config.json",):
        p = os.path.join(folder, extra)
        if os.path.exists(p):
            os.remove(p)
    if pruned is not None:   # rewrite weights with physically sliced tensors
        sd = load_file(os.path.join(folder, "model.safetensors"))
        save_file(pruned(sd), os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})


def tiny_llama(**kw):
    base = dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, tie_word_embeddings=False)
    base.update(kw)
    return base


def ids(b, t, vocab, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (b, t), generator=g)


def build(name, config, cls, seed, attn="eager"):
    torch.manual_seed(seed)
    config._attn_implementation = attn
    model = cls(config).eval()
    randomize(model, seed)
    return model


def decoder_cases():
    cases = [
        ("llama_gqa", LlamaConfig, LlamaForCausalLM, tiny_llama(), {}),
        ("llama_mha_tied", LlamaConfig, LlamaForCausalLM,
         tiny_llama(num_key_value_heads=4, tie_word_embeddings=True, rope_parameters={"rope_type": "default", "rope_theta": 500000.0}), {}),
        ("llama_mqa_bias", LlamaConfig, LlamaForCausalLM, tiny_llama(num_key_value_heads=1, attention_bias=True, mlp_bias=True), {}),
        ("llama_rope_linear", LlamaConfig, LlamaForCausalLM,
         tiny_llama(rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}), {}),
        ("llama_rope_dynamic", LlamaConfig, LlamaForCausalLM,
         tiny_llama(max_position_embeddings=8, rope_parameters={"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0}), {"t": 12}),
        ("llama_rope_llama3", LlamaConfig, LlamaForCausalLM,
         tiny_llama(rope_parameters={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                     "original_max_position_embeddings": 64, "rope_theta": 10000.0}, max_position_embeddings=128), {}),
        ("llama_padding", LlamaConfig, LlamaForCausalLM, tiny_llama(), {"pad": True}),
        ("llama_hooks", LlamaConfig, LlamaForCausalLM, tiny_llama(),
         {"head_mask": [[1, 0, 0.5, 1], [0.25, 1, 1, 0]], "neuron_mask": "random", "skip": [(0, "mlp"), (1, "attention")]}),
        ("llama_clipped", LlamaConfig, LlamaForCausalLM, tiny_llama(), {"attn": "clipped"}),
        ("qwen2_bias_tied", Qwen2Config, Qwen2ForCausalLM, tiny_llama(tie_word_embeddings=True), {}),
        ("mistral_window", MistralConfig, MistralForCausalLM, tiny_llama(sliding_window=32), {}),
    ]
    for name, ccls, mcls, kw, opt in cases:
        model = build(name, ccls(**kw), mcls, seed=len(name), attn=opt.get("attn", "eager"))
        t = opt.get("t", 7)
        inputs = {"input_ids": ids(2, t, 64, 1)}
        if opt.get("pad"):
            inputs["attention_mask"] = torch.tensor([[1] * t, [1] * 4 + [0] * (t - 4)])
        nm = opt.get("neuron_mask")
        if nm == "random":
            g = torch.Generator().manual_seed(3)
            nm = (torch.rand(2, 48, generator=g) * (torch.rand(2, 48, generator=g) > 0.3)).tolist()
        save_model(name, model)
        run_case(name, "llama", model, inputs, head_dim=8, head_mask=opt.get("head_mask"), neuron_mask=nm,
                 skip=set(opt.get("skip", [])))


def pruned_llama_case():
    """Layer 0 keeps kv head 0 (q heads 0,1) of 2; FFN keeps a subset of neurons per layer."""
    name = "llama_pruned"
    model = build(name, LlamaConfig(**tiny_llama()), LlamaForCausalLM, seed=11)
    keep_ffn = [list(range(0, 48, 2)), list(range(40))]
    head_mask = [[1, 1, 0, 0], [1, 1, 1, 1]]
    neuron_mask = [[1.0 if j in keep_ffn[i] else 0.0 for j in range(48)] for i in range(2)]
    inputs = {"input_ids": ids(2, 7, 64, 2)}

    def prune(sd):
        hd = 8
        p = "model.layers.0.self_attn."
        sd[p + "q_proj.weight"] = sd[p + "q_proj.weight"][: 2 * hd].contiguous()
        sd[p + "k_proj.weight"] = sd[p + "k_proj.weight"][:hd].contiguous()
        sd[p + "v_proj.weight"] = sd[p + "v_proj.weight"][:hd].contiguous()
        sd[p + "o_proj.weight"] = sd[p + "o_proj.weight"][:, : 2 * hd].contiguous()
        for i, keep in enumerate(keep_ffn):
            m = f"model.layers.{i}.mlp."
            idx = torch.tensor(keep)
            sd[m + "gate_proj.weight"] = sd[m + "gate_proj.weight"][idx].contiguous()
            sd[m + "up_proj.weight"] = sd[m + "up_proj.weight"][idx].contiguous()
            sd[m + "down_proj.weight"] = sd[m + "down_proj.weight"][:, idx].contiguous()
        return sd
    save_model(name, model, pruned=prune)
    run_case(name, "llama", model, inputs, head_dim=8, head_mask=head_mask, neuron_mask=neuron_mask)


def gpt2_case():
    name = "gpt2"
    cfg = GPT2Config(vocab_size=64, n_positions=16, n_embd=32, n_layer=2, n_head=4)
    model = build(name, cfg, GPT2LMHeadModel, seed=5)
    save_model(name, model)
    run_case(name, "gpt2", model, {"input_ids": ids(2, 7, 64, 4)}, head_dim=8)


def bert_cases():
    kw = dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
              max_position_embeddings=16, type_vocab_size=2)
    t = 9
    input_ids = ids(2, t, 64, 6)
    mask = torch.tensor([[1] * t, [1] * 6 + [0] * (t - 6)])
    types = torch.tensor([[0] * 4 + [1] * (t - 4), [0] * 3 + [1] * 3 + [0] * (t - 6)])
    inputs = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types}
    # Classifier with token types and padding.
    model = build("bert_classifier", BertConfig(num_labels=3, **kw), BertForSequenceClassification, seed=7)
    save_model("bert_classifier", model)
    run_case("bert_classifier", "bert", model, inputs, head_dim=8)
    # Bare encoder (no "bert." prefix in the file).
    model = build("bert_model", BertConfig(**kw), BertModel, seed=8)
    save_model("bert_model", model)
    run_case("bert_model", "bert", model, inputs, head_dim=8)
    # Hooks on the classifier.
    g = torch.Generator().manual_seed(9)
    nm = (torch.rand(2, 48, generator=g) > 0.4).float().tolist()
    model = build("bert_hooks", BertConfig(num_labels=2, **kw), BertForSequenceClassification, seed=10)
    save_model("bert_hooks", model)
    run_case("bert_hooks", "bert", model, inputs, head_dim=8, head_mask=[[0, 1, 1, 0.5], [1, 1, 0, 1]],
             neuron_mask=nm, skip={(1, "mlp")})
    # Clipped softmax on BERT (its released setting γ = −0.025 is too mild to test; use CLIP).
    model = build("bert_clipped", BertConfig(num_labels=2, **kw), BertForSequenceClassification, seed=12, attn="clipped")
    save_model("bert_clipped", model)
    run_case("bert_clipped", "bert", model, inputs, head_dim=8)


def real_models():
    out = {}
    path = os.path.join(SHARED, "stories260K")
    if os.path.exists(path):
        model = LlamaForCausalLM.from_pretrained(path, attn_implementation="eager").eval()
        x = torch.tensor([[1, 403, 407, 261, 378, 284, 339, 270, 46, 13, 2, 5]])
        with torch.no_grad():
            logits = model(input_ids=x).logits
        save_file({"input_ids": x.to(torch.int32), "output": logits.contiguous()},
                  os.path.join(OUT, "stories260K.safetensors"), metadata=dict(META, model="../shared/models/stories260K"))
    path = os.path.join(SHARED, "minilm-l6-sst2")
    if os.path.exists(path):
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(path)
        model = BertForSequenceClassification.from_pretrained(path, attn_implementation="eager", dtype=torch.float32).eval()
        enc = tok(["a gripping, beautifully acted film.", "dull and far too long; i wanted to leave."],
                  padding=True, return_tensors="pt")
        with torch.no_grad():
            o = model(**enc)
        save_file({"input_ids": enc["input_ids"].to(torch.int32), "attention_mask": enc["attention_mask"].to(torch.int32),
                   "token_type_ids": enc["token_type_ids"].to(torch.int32), "output": o.logits.contiguous()},
                  os.path.join(OUT, "minilm-l6-sst2.safetensors"), metadata=dict(META, model="../shared/models/minilm-l6-sst2"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    decoder_cases()
    pruned_llama_case()
    gpt2_case()
    bert_cases()
    real_models()
    print("wrote", OUT)
