"""A BF16 copy of SmolLM2-135M-Instruct for `whittle-bench decoding`'s 16-bit rows (HalfDecodingBench.swift),
made the way a user's BF16 checkpoint is made: transformers loads the f32 folder and saves it in bfloat16.
Default output: <input>-bf16 beside the input folder (where the bench looks); tokenizer files are copied.
Run: /root/venv/bin/python tools/bench/smollm2_bf16.py [--input ~/.cache/whittle/models/smollm2-135m-instruct] [--output DIR]
"""
import argparse, os, shutil
import torch
from transformers import LlamaForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--input", default=os.path.expanduser("~/.cache/whittle/models/smollm2-135m-instruct"))
p.add_argument("--output", default=None)
a = p.parse_args()
out = a.output or a.input.rstrip("/") + "-bf16"
model = LlamaForCausalLM.from_pretrained(a.input, dtype=torch.float32)
model.to(torch.bfloat16).save_pretrained(out)
for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json"):
    if os.path.exists(os.path.join(a.input, name)):
        shutil.copy(os.path.join(a.input, name), out)
print(out)
