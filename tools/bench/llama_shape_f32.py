#!/usr/bin/env python3
"""A larger F32 Llama checkpoint for the GGUF writing bench (BENCHMARKS.md, GGUF writing): the 0.6 B shape of
the quantization bench (hidden 2048, FFN 5632, 10 layers, 16 heads, tied embeddings) with SmolLM2's vocabulary
and tokenizer files (49,152 ids), so both llama.cpp's converter and `compress convert` accept it. Seeded random
weights (0.02 · N(0, 1)); norms 1. On a 135 M model a process's start and the tokenizer metadata are a large
part of a 0.3 s job; here the tensors dominate, as they do for the models users quantize.

Run: /root/venv/bin/python tools/bench/llama_shape_f32.py [OUT] (default /tmp/whittle-bench-llama-0.6b-f32)
then: tools/bench_gguf_peer.py --model OUT --f32 OUT.f32.gguf --types q4_0,q8_0 --skip-read
"""
import json
import os
import shutil
import sys

import numpy as np
from safetensors.numpy import save_file

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/whittle-bench-llama-0.6b-f32"
smollm2 = os.path.expanduser("~/.cache/whittle/models/smollm2-135m-instruct")
c, f, layers, vocab = 2048, 5632, 10, 49152
rng = np.random.default_rng(20261201)


def weight(*shape):
    return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)


tensors = {"model.embed_tokens.weight": weight(vocab, c), "model.norm.weight": np.ones(c, np.float32)}
for i in range(layers):
    p = f"model.layers.{i}."
    for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
        tensors[p + f"self_attn.{n}.weight"] = weight(c, c)
    tensors[p + "mlp.gate_proj.weight"] = weight(f, c)
    tensors[p + "mlp.up_proj.weight"] = weight(f, c)
    tensors[p + "mlp.down_proj.weight"] = weight(c, f)
    tensors[p + "input_layernorm.weight"] = np.ones(c, np.float32)
    tensors[p + "post_attention_layernorm.weight"] = np.ones(c, np.float32)
os.makedirs(out, exist_ok=True)
save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": c, "intermediate_size": f,
          "num_hidden_layers": layers, "num_attention_heads": 16, "num_key_value_heads": 16, "vocab_size": vocab,
          "rms_norm_eps": 1e-5, "max_position_embeddings": 2048, "tie_word_embeddings": True, "rope_theta": 10000.0,
          "hidden_act": "silu", "torch_dtype": "float32", "bos_token_id": 1, "eos_token_id": 2}
with open(os.path.join(out, "config.json"), "w") as fh:
    json.dump(config, fh, indent=1)
for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
    if os.path.exists(os.path.join(smollm2, name)):
        shutil.copy(os.path.join(smollm2, name), os.path.join(out, name))
print(f"{sum(t.size for t in tensors.values()) / 1e9:.3f} B parameters in {out}")
