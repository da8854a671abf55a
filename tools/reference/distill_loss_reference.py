"""PyTorch reference for distilling step-by-step's multi-task loss on a decoder (ALGORITHMS.md §6.1):
L = α·CE(label task) + (1 − α)·CE(rationale task), each the mean over its target tokens only (prompt
tokens and padding labelled -100), on fixtures/training/llama_gqa. Writes
fixtures/distill/multitask_loss.json: the sequences, both CEs, L and a few gradients.
Run: python tools/reference/distill_loss_reference.py"""
import json, os
import torch
import torch.nn.functional as F
from transformers import LlamaForCausalLM

ROOT = os.path.join(os.path.dirname(__file__), "../..")
torch.manual_seed(0)
model = LlamaForCausalLM.from_pretrained(os.path.join(ROOT, "fixtures/training/llama_gqa"), dtype=torch.float32)
model.train()
V = model.config.vocab_size
g = torch.Generator().manual_seed(16)

def rand(n):
    return torch.randint(3, V, (n,), generator=g).tolist()

EOS, PAD, ALPHA = 2, 2, 0.3
# (prompt, target) pairs: the label task's rows, then the rationale task's.
labels = [(rand(5), rand(2) + [EOS]), (rand(7), rand(1) + [EOS])]
rationales = [(rand(5), rand(9) + [EOS]), (rand(7), rand(6) + [EOS])]
rows = labels + rationales
T = max(len(p) + len(t) for p, t in rows)
ids = torch.full((len(rows), T), PAD)
mask = torch.zeros((len(rows), T), dtype=torch.long)
lab = torch.full((len(rows), T), -100)
for b, (p, t) in enumerate(rows):
    seq = p + t
    ids[b, :len(seq)] = torch.tensor(seq)
    mask[b, :len(seq)] = 1
    lab[b, len(p):len(seq)] = torch.tensor(t)     # only target tokens are predicted

logits = model(input_ids=ids, attention_mask=mask).logits   # [B, T, V]
shift_logits = logits[:, :-1].reshape(-1, V)
def task_ce(rows_range):
    l = lab.clone()
    for b in range(len(rows)):
        if b not in rows_range: l[b] = -100
    return F.cross_entropy(shift_logits, l[:, 1:].reshape(-1), ignore_index=-100)
ce_label = task_ce(range(0, 2))
ce_rationale = task_ce(range(2, 4))
loss = ALPHA * ce_label + (1 - ALPHA) * ce_rationale
loss.backward()
names = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight", "lm_head.weight"]
params = dict(model.named_parameters())
out = {
    "alpha": ALPHA, "eos": EOS, "pad": PAD,
    "labels": [{"prompt": p, "target": t} for p, t in labels],
    "rationales": [{"prompt": p, "target": t} for p, t in rationales],
    "ce_label": ce_label.item(), "ce_rationale": ce_rationale.item(), "loss": loss.item(),
    "label_target_tokens": int(sum(len(t) for _, t in labels)),
    "rationale_target_tokens": int(sum(len(t) for _, t in rationales)),
    "gradients": {n: params[n].grad.flatten().tolist() for n in names},
}
os.makedirs(os.path.join(ROOT, "fixtures/distill"), exist_ok=True)
json.dump(out, open(os.path.join(ROOT, "fixtures/distill/multitask_loss.json"), "w"))
print({k: out[k] for k in ["ce_label", "ce_rationale", "loss"]})
