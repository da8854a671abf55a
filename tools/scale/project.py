#!/usr/bin/env python3
"""Projects the per-unit costs measured by tools/scale/measure.sh (SmolLM2-135M, one core, CPU
seconds) to Llama 7 B and 70 B on 1, 8 and 64 nodes, and prints docs/PRODUCTION.md's tables.

Model (docs/PRODUCTION.md "Cost model"): a forward through one layer costs 2·P_layer FLOP per token
and one copy's head + KL costs 2·d·V FLOP per token, each at the effective rate measured on
SmolLM2; OPTIN is Σ over items of layers × copies × tokens; evaluation is (L·layer + head) per
token; NF4 is linear in parameters. Nodes: 64 cores each, linear scaling inside a node and across
nodes (the work items are independent; the imbalance of contiguous slices is ignored).
Usage: python3 tools/scale/project.py /tmp/whittle-scale.log
"""
import json, sys

m = {j["what"]: j for j in (json.loads(l) for l in open(sys.argv[1]) if l.startswith("{"))}
cpu = lambda k: m[k]["cpu_s"]

# SmolLM2-135M: the measured model.
L, d, F, H, KV, V, T = 30, 576, 1536, 9, 3, 49152, 256
hd = d // H
p_layer = d * d * 2 + 2 * d * KV * hd + 3 * d * F          # q, o, k, v, gate/up/down
setup = cpu("optin setup only")
head0, head15 = cpu("optin head item, layer 0 (30 layers)"), cpu("optin head item, layer 15 (15 layers)")
per_layer_pass = (head0 - head15) / 15                      # one copy, T tokens, one layer
rate_layer = 2 * p_layer * T / per_layer_pass               # FLOP/s (one core)
one_copy_head = head0 - setup - 30 * per_layer_pass         # head + KL for one copy
last_batch = cpu("optin setup + last-layer neuron batch") - setup
rate_head = 2 * d * V * T * 32 / last_batch                 # head + KL of 32 copies, FLOP/s
ppl = m["perplexity 8192 tokens (16 windows of 512)"]
# Evaluation runs the same kernels: per token, L layers at rate_layer and one head at rate_head (the
# measured `compress eval` CPU time also tokenizes the whole 1.3 MB test file; shown as a cross-check).
eval_s_per_token = lambda L_, pl, d_, V_: L_ * 2 * pl / rate_layer + 2 * d_ * V_ / rate_head
nf4 = m["nf4 whole model"]
params = 134_515_008
rate_nf4 = params / nf4["cpu_s"]

print("| measured on SmolLM2-135M (one core, CPU s) | value |\n|---|---|")
print(f"| OPTIN setup (load, calibration forward over {T} tokens, caches) | {setup:.2f} s, peak RSS {m['optin setup only']['peak_rss_mb']} MB |")
print(f"| one layer, one copy, {T} tokens (head items of layers 0 and 15) | {per_layer_pass*1e3:.1f} ms → {rate_layer/1e9:.0f} GFLOP/s |")
print(f"| head + KL of one copy (vocab {V}) | {one_copy_head*1e3:.0f} ms |")
print(f"| last-layer neuron batch: head + KL of 32 copies | {last_batch:.1f} s → {rate_head/1e9:.0f} GFLOP/s, peak RSS {m['optin setup + last-layer neuron batch']['peak_rss_mb']} MB |")
nb0 = cpu("optin neuron batch (32), layer 0 (29 layers)") - setup
print(f"| neuron batch of layer 0 (32 copies × 29 layers + heads) | {nb0:.1f} s |")
print(f"| perplexity, 8192 tokens (`compress eval`, includes tokenizing the 1.3 MB file) | {ppl['cpu_s']:.1f} s, peak RSS {ppl['peak_rss_mb']} MB; the model predicts {8192 * eval_s_per_token(L, p_layer, d, V):.1f} s without tokenizing |")
print(f"| NF4 of the whole model ({params/1e6:.0f} M parameters, F32) | {nf4['cpu_s']:.1f} s → {rate_nf4/1e6:.0f} M parameters/s, peak RSS {nf4['peak_rss_mb']} MB |")
print()

models = {  # L, d, F, H, KV heads, V
    "Llama 2 7 B": (32, 4096, 11008, 32, 32, 32000),
    "Llama 2 70 B": (80, 8192, 28672, 64, 8, 32000),
}
Tc, Teval, cores = 2048, 340_000, 64

def hours(s): return f"{s/3600:,.1f} h" if s >= 3600 else f"{s/60:,.1f} min" if s >= 60 else f"{s:,.0f} s"

print(f"Calibration {Tc} tokens for OPTIN; evaluation over {Teval:,} tokens (WikiText-2 test with a Llama tokenizer); nodes of {cores} cores.\n")
print("| model | work | core-hours | 1 node | 8 nodes | 64 nodes | memory per task |\n|---|---|---|---|---|---|---|")
for name, (L2, d2, F2, H2, KV2, V2) in models.items():
    hd2 = d2 // H2
    pl = d2 * d2 * 2 + 2 * d2 * KV2 * hd2 + 3 * d2 * F2
    params = L2 * pl + 2 * d2 * V2
    layer_s = 2 * pl * Tc / rate_layer                       # one layer pass, one copy
    head_s = 2 * d2 * V2 * Tc / rate_head                    # head + KL, one copy
    heads = H2 * sum((L2 - l) * layer_s + head_s for l in range(L2))
    neurons = F2 * sum((L2 - l - 1) * layer_s + head_s for l in range(L2))
    weights_gb = params * 4 / 1e9
    acts_gb = L2 * Tc * (2 * d2 + F2) * 4 / 1e9
    logits_gb = 32 * Tc * V2 * 4 / 1e9
    # "streaming": true — one layer and the head in F32, the unpruned trajectory (one [T, d] per layer
    # boundary), the reference logits, 32 copies' hidden states, logits in chunks of 64 rows per copy.
    streamed_gb = (pl + d2 * V2 + (L2 + 32) * Tc * d2 + Tc * V2 + 32 * 64 * V2) * 4 / 1e9
    rows = [
        ("OPTIN scores (heads + neurons)", heads + neurons, f"whole model: {weights_gb:.0f} GB F32 weights + {acts_gb:.1f} GB cached activations + {logits_gb:.1f} GB logits of a 32-copy batch; streamed: {streamed_gb:.1f} GB"),
        ("evaluation (perplexity)", Teval * eval_s_per_token(L2, pl, d2, V2), f"{weights_gb:.0f} GB F32 weights + one window"),
        ("NF4 quantization (compute only; reading {:.0f} GB of BF16 at 1 GB/s takes {:.0f} s per disk)".format(params * 2 / 1e9, params * 2 / 1e9),
         params / rate_nf4, f"one tensor at a time (largest {d2 * V2 * 4 / 1e9:.1f} GB F32) + the map"),
    ]
    for work, core_s, mem in rows:
        print(f"| {name} | {work} | {core_s/3600:,.{0 if core_s > 36000 else 2}f} | {hours(core_s/cores)} | {hours(core_s/cores/8)} | {hours(core_s/cores/64)} | {mem} |")
