"""Reference fixtures for gated attention (issue 14, ALGORITHMS.md §3.2).

A PyTorch port of the reference gate (Qualcomm-AI-research/outlier-free-transformers @ 1e597449,
`opt_attention.py` / `bert_attention.py`: `self.alpha` = one `nn.Linear(d_head, 1)` per head, or an MLP
per head, or one `nn.Linear(d_model, H)`, or a learned scalar per head; `gate = sigmoid(alpha)`,
pooled over T for `conditional_per_head`, `attn_output (B·H, T, d_head) *= gate · gate_scaling_factor`
with the factor 1/π_init in fine-tuning mode) is attached to tiny random transformers models: a
forward pre-hook on the q projection keeps the attention input x (the module's `hidden_states`), a
pre-hook on the output projection gates the per-head context before it.

For each case this writes fixtures/gated/<case>/ with config.json (with the `whittle.attention_gate`
section), model.safetensors (the model plus the gate stacked per head: `<layer>.self_attn.gate.weight`
[H, 1, d_h] = stack of the reference's `alpha[h].weight`, `.bias` [H, 1]; MLP: `.fc1.*`, `.fc2.*`;
all features: `.weight` [H, d], `.bias` [H]; elementwise: `.weight` [H·d_h, d], `.bias` [H·d_h]; unconditional: `.logit` [H]) and reference.safetensors:
the batch, the loss, `grad.<name>` for every parameter (gate gradients stacked the same way), and
`adamw_losses` [10] as in training_reference.py (lr 1e-3, warm-up 2, linear decay, wd 0.1 on ≥ 2-dim
parameters, clip 1.0).

Run: /root/venv/bin/python tools/reference/gated_attention_reference.py [case ...]
"""
import argparse, json, math, os, shutil
import torch, transformers, safetensors
from torch import nn
from safetensors.torch import save_file, load_file
from training_reference import adamw_losses, lm_batch, randomize   # the same models, batches and trajectory
from transformers import (LlamaConfig, LlamaForCausalLM, GPT2Config, GPT2LMHeadModel, BertConfig, BertForSequenceClassification)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "fixtures", "gated")
META = {"generator": "tools/reference/gated_attention_reference.py", "torch": torch.__version__,
        "transformers": transformers.__version__, "safetensors": safetensors.__version__}
# Trajectory settings (steps, lr, warm-up, weight decay, clip) are training_reference.py's.
COMMON = dict(attn_implementation="eager")


def logit(p):
    return math.log(p / (1 - p))


class ReferenceGate(nn.Module):
    """The reference's gate construction and forward (`OPTAttentionWithExtras` / `BertSelfAttentionWithExtras`)."""

    def __init__(self, num_heads, head_dim, embed_dim, gate_type, init=None, mlp=False, mlp2=False, all_features=False,
                 fine_tuning=False, ft_std=0.001, elementwise=False):
        super().__init__()
        self.num_heads, self.head_dim, self.gate_type, self.all_features = num_heads, head_dim, gate_type, all_features
        self.elementwise = elementwise
        self.gate_fn = torch.sigmoid
        self.pooling_fn = lambda a: torch.mean(a, dim=1, keepdim=True)
        self.gate_scaling_factor = 1.0 / init if (fine_tuning and init is not None) else 1.0
        if gate_type == "unconditional_per_head":
            self.alpha = nn.Parameter(torch.zeros(num_heads))
        elif all_features:
            self.alpha = nn.Linear(embed_dim, num_heads, bias=True)
        elif elementwise:
            # Qiu et al. 2025 (Qwen3-Next): sigmoid(x·W_θ) of width H·d_h on the attention output, per channel;
            # with a bias (init logit(π_init)) so π_init means what it means for the per-head gates.
            self.alpha = nn.Linear(embed_dim, num_heads * head_dim, bias=True)
            if init is not None:
                nn.init.constant_(self.alpha.bias, logit(init))
        else:
            heads = []
            for _ in range(num_heads):
                if mlp:
                    fc = nn.Sequential(nn.Linear(head_dim, head_dim // 4), nn.ReLU(), nn.Linear(head_dim // 4, 1))
                elif mlp2:
                    fc = nn.Sequential(nn.Linear(head_dim, head_dim), nn.ReLU(), nn.Linear(head_dim, 1))
                else:
                    fc = nn.Linear(head_dim, 1, bias=True)
                    if init is not None:
                        nn.init.constant_(fc.bias, logit(init))
                    if fine_tuning:
                        nn.init.normal_(fc.weight, mean=0.0, std=ft_std)
                heads.append(fc)
            self.alpha = nn.ModuleList(heads)

    def forward(self, x, attn_output):
        """x: attention input (B, T, d); attn_output: context (B·H, T, d_head). Returns the gated context."""
        bsz, tgt_len, _ = x.shape
        if self.gate_type == "unconditional_per_head":
            gate = self.gate_fn(self.alpha)
            return attn_output * gate.view(-1, 1, 1).repeat(bsz, 1, 1) * self.gate_scaling_factor
        if self.elementwise:
            g = self.gate_fn(self.alpha(x)).view(bsz, tgt_len, self.num_heads, self.head_dim)
            if self.gate_type == "conditional_per_head":
                g = self.gate_fn(torch.mean(self.alpha(x), dim=1, keepdim=True)).view(bsz, 1, self.num_heads, self.head_dim)
            gate = g.permute(0, 2, 1, 3).reshape(bsz * self.num_heads, -1, self.head_dim)        # (B·H, T or 1, d_h)
        elif self.all_features:
            gate = self.gate_fn(self.alpha(x)).permute(0, 2, 1).contiguous().view(-1, tgt_len, 1)   # (B·H, T, 1)
        else:
            xh = x.view(bsz, tgt_len, self.num_heads, self.head_dim)
            alpha = []
            for h in range(self.num_heads):
                a = self.alpha[h](xh[..., h, :])                   # (B, T, 1)
                if self.gate_type == "conditional_per_head":
                    a = self.pooling_fn(a)                          # (B, 1, 1)
                alpha.append(a)
            alpha = torch.stack(alpha, dim=1)                       # (B, H, *, 1)
            gate = self.gate_fn(alpha).view(-1, alpha.shape[-2], 1)
        return attn_output * gate * self.gate_scaling_factor

    def stacked(self, grads=False):
        """Our stacked tensors (names under `…gate.`) from the per-head modules."""
        get = (lambda p: p.grad if p.grad is not None else torch.zeros_like(p)) if grads else (lambda p: p.detach())
        if self.gate_type == "unconditional_per_head":
            return {"logit": get(self.alpha).clone()}
        if self.all_features or self.elementwise:
            return {"weight": get(self.alpha.weight).clone(), "bias": get(self.alpha.bias).clone()}
        mods = list(self.alpha)
        if isinstance(mods[0], nn.Linear):
            return {"weight": torch.stack([get(m.weight) for m in mods]), "bias": torch.stack([get(m.bias) for m in mods])}
        out = {}
        for i, j in ((1, 0), (2, 2)):
            out[f"fc{i}.weight"] = torch.stack([get(m[j].weight) for m in mods])
            out[f"fc{i}.bias"] = torch.stack([get(m[j].bias) for m in mods])
        return out


def attach(model, layers, names, gate_kwargs, seed, randomize_gate):
    """Adds a ReferenceGate to each layer: pre-hooks on the q projection (keep x) and o projection (gate)."""
    cfg = model.config
    H = cfg.num_attention_heads
    d = cfg.hidden_size
    gates = []
    g = torch.Generator().manual_seed(seed + 100)
    for i, layer in enumerate(layers):
        qname, oname, gname = names(i)
        gate = ReferenceGate(H, d // H, d, **gate_kwargs)
        if randomize_gate:
            with torch.no_grad():
                for p in gate.parameters():
                    p.add_(0.5 * torch.randn(p.shape, generator=g))
        model.add_module(f"gate_{i}", gate)
        state = {}
        q = model.get_submodule(qname)
        o = model.get_submodule(oname)
        q.register_forward_pre_hook(lambda m, args, state=state: state.__setitem__("x", args[0]))

        def gate_context(m, args, state=state, gate=gate):
            ctx = args[0]                                         # (B, T, H·d_h)
            b, t, _ = ctx.shape
            per_head = ctx.view(b, t, H, d // H).permute(0, 2, 1, 3).reshape(b * H, t, d // H)
            gated = gate(state["x"], per_head)
            return (gated.view(b, H, t, d // H).permute(0, 2, 1, 3).reshape(b, t, d),)
        o.register_forward_pre_hook(gate_context)
        gates.append((gname, gate))
    return gates


def run(case, model, gates, whittle, batch):
    model.eval()
    folder = os.path.join(OUT, case)
    shutil.rmtree(folder, ignore_errors=True)
    base_names = [n for n, _ in model.named_parameters() if not n.startswith("gate_")]
    model.save_pretrained(folder, safe_serialization=True)
    weights = load_file(os.path.join(folder, "model.safetensors"))
    weights = {k: v for k, v in weights.items() if not k.startswith("gate_")}
    for gname, gate in gates:
        for k, v in gate.stacked().items():
            weights[f"{gname}.{k}"] = v.contiguous()
    save_file(weights, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    config["whittle"] = whittle
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    out = model(**batch)
    out.loss.backward()
    tensors = {k: v.contiguous() for k, v in batch.items()}
    tensors["loss"] = out.loss.detach().reshape(1)
    params = dict(model.named_parameters())
    for name in base_names:
        tensors["grad." + name] = params[name].grad.detach().clone().contiguous()
    for gname, gate in gates:
        for k, v in gate.stacked(grads=True).items():
            tensors[f"grad.{gname}.{k}"] = v.contiguous()
    model.zero_grad()
    losses = adamw_losses(model, batch)
    tensors["adamw_losses"] = torch.tensor(losses, dtype=torch.float32)
    save_file(tensors, os.path.join(folder, "reference.safetensors"), metadata=dict(META, case=case))
    print(case, "loss", out.loss.item(), "trajectory", [round(x, 4) for x in losses])


def llama(case, seed, gate_kwargs, whittle, randomize_gate=True):
    m = LlamaForCausalLM(LlamaConfig(vocab_size=40, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
                                     rms_norm_eps=1e-6, tie_word_embeddings=False, **COMMON))
    randomize(m, seed)
    torch.manual_seed(seed)
    names = lambda i: (f"model.layers.{i}.self_attn.q_proj", f"model.layers.{i}.self_attn.o_proj", f"model.layers.{i}.self_attn.gate")
    gates = attach(m, m.model.layers, names, gate_kwargs, seed, randomize_gate)
    run(case, m, gates, whittle, lm_batch(40, seed + 10))


def gpt2(case, seed, gate_kwargs, whittle, randomize_gate=True):
    m = GPT2LMHeadModel(GPT2Config(vocab_size=40, n_embd=32, n_layer=2, n_head=4, n_positions=32,
                                   resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, **COMMON))
    randomize(m, seed)
    torch.manual_seed(seed)
    names = lambda i: (f"transformer.h.{i}.attn.c_attn", f"transformer.h.{i}.attn.c_proj", f"transformer.h.{i}.attn.gate")
    gates = attach(m, m.transformer.h, names, gate_kwargs, seed, randomize_gate)
    run(case, m, gates, whittle, lm_batch(40, seed + 10))


def bert(case, seed, gate_kwargs, whittle, randomize_gate=True):
    m = BertForSequenceClassification(BertConfig(vocab_size=40, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                                 num_attention_heads=4, max_position_embeddings=32, num_labels=3,
                                                 hidden_dropout_prob=0, attention_probs_dropout_prob=0, **COMMON))
    randomize(m, seed)
    torch.manual_seed(seed)
    names = lambda i: (f"bert.encoder.layer.{i}.attention.self.query", f"bert.encoder.layer.{i}.attention.output.dense",
                       f"bert.encoder.layer.{i}.attention.self.gate")
    gates = attach(m, m.bert.encoder.layer, names, gate_kwargs, seed, randomize_gate)
    g = torch.Generator().manual_seed(seed + 10)
    ids = torch.randint(0, 40, (3, 6), generator=g)
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 5 + [0]])
    run(case, m, gates, whittle, {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([2, 0, 1])})


def gate_section(type_, network, init=None, fine_tuning=False):
    s = {"type": type_, "network": network, "fine_tuning": fine_tuning}
    if init is not None:
        s["init"] = init
    return {"attention_gate": s}


CASES = {
    # conditional per token, Linear(d_h → 1), π_init 0.25 (the OPT scripts' setting)
    "llama_linear": lambda: llama("llama_linear", 21, dict(gate_type="conditional_per_token", init=0.25),
                                  gate_section("conditional_per_token", "linear", 0.25)),
    # MLP d_h → d_h/4 → 1 (the BERT script's `--attn_gate_mlp`)
    "llama_mlp": lambda: llama("llama_mlp", 22, dict(gate_type="conditional_per_token", mlp=True),
                               gate_section("conditional_per_token", "mlp")),
    # fine-tuning mode (×1/π_init, weights N(0, 0.001²)), logits averaged over T before the sigmoid
    "gpt2_per_head_finetune": lambda: gpt2("gpt2_per_head_finetune", 23,
                                           dict(gate_type="conditional_per_head", init=0.25, fine_tuning=True),
                                           gate_section("conditional_per_head", "linear", 0.25, True), randomize_gate=False),
    # one Linear(d → H) on the whole input, post-norm BERT (x = the block input)
    "bert_all_features": lambda: bert("bert_all_features", 24, dict(gate_type="conditional_per_token", all_features=True),
                                      gate_section("conditional_per_token", "linear_all_features")),
    # the elementwise output gate (Qiu et al. 2025, Qwen3-Next): Linear(d → H·d_h), one sigmoid per context channel
    "llama_elementwise": lambda: llama("llama_elementwise", 26, dict(gate_type="conditional_per_token", init=0.25, elementwise=True),
                                       gate_section("conditional_per_token", "elementwise", 0.25)),
    # a learned logit per head
    "llama_unconditional": lambda: llama("llama_unconditional", 25, dict(gate_type="unconditional_per_head"),
                                         gate_section("unconditional_per_head", "linear")),
}


def main():
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", metavar="case", help="default all: " + ", ".join(CASES))
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error("unknown case(s): " + ", ".join(unknown))
    OUT = args.out
    os.makedirs(OUT, exist_ok=True)
    for case in args.cases or list(CASES):
        torch.manual_seed(0)
        CASES[case]()


if __name__ == "__main__":
    main()
