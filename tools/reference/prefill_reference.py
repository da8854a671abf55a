"""Reference fixture for the prefill-sized f32 forward (issue 20, session 10).

A tiny Llama whose forward has more activation rows (2 sequences × 80 tokens = 160) than
`panelGemmRows` (128), so our linears run the panel GEMM on the pool (f32_gemm_many.c) instead of
OpenBLAS. Widths are not multiples of the kernel's 64-row panels or 16-row units (hidden 72, FFN 200,
q 72 / k, v 24 rows, vocabulary 96), and q/k/v/o and the MLP carry biases. Writes
fixtures/models-reference/llama_prefill/ (config.json, model.safetensors, reference.safetensors with
input_ids and transformers' logits `output` [2, 80, 96]).

Run: /root/venv/bin/python tools/reference/prefill_reference.py
"""
import os
import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

from models_reference import META, OUT, build, ids, save_model, tiny_llama

if __name__ == "__main__":
    torch.set_num_threads(1)
    name = "llama_prefill"
    config = LlamaConfig(**tiny_llama(vocab_size=96, hidden_size=72, intermediate_size=200, num_attention_heads=6,
                                      num_key_value_heads=2, max_position_embeddings=128, attention_bias=True, mlp_bias=True))
    model = build(name, config, LlamaForCausalLM, seed=2010)
    save_model(name, model)
    inputs = ids(2, 80, 96, 2011)
    with torch.no_grad():
        logits = model(input_ids=inputs).logits
    save_file({"input_ids": inputs.to(torch.int32).contiguous(), "output": logits.contiguous()},
              os.path.join(OUT, name, "reference.safetensors"), metadata=dict(META, case=name))
    print("wrote", os.path.join(OUT, name))
