"""Reference fixtures for 16-bit weights at run time (Models/HalfLinear.swift, Kernels/HalfMatmul.swift).

Builds two tiny random models with transformers and saves them in 16 bits the way a user's checkpoint
arrives (`model.to(dtype).save_pretrained`):
  fixtures/half/llama-bf16/  Llama, GQA 4/2, tied embeddings, BF16
  fixtures/half/qwen2-f16/   Qwen2 (q/k/v biases), untied head, F16
Widths are not multiples of 16 (hidden 40, intermediate 72), so the kernels' partial chunks run.
Each folder's reference.safetensors holds, from transformers loading that folder with
dtype=torch.float32 (every 16-bit weight widened exactly, all arithmetic in f32, eager attention):
  "ids" [2, 9] and "logits" [2, 9, V] of a full forward;
  "prompt" [5] and "greedy" [12] of greedy `generate` (its KV cache) after that prompt;
and, for the measurement notes, "logits_native" of the same forward computed in the stored dtype.
Run: /root/venv/bin/python tools/reference/half_weights_reference.py
"""
import json, os, shutil
import torch, transformers, safetensors
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "fixtures", "half")
META = {"generator": "tools/reference/half_weights_reference.py", "torch": torch.__version__,
        "transformers": transformers.__version__, "safetensors": safetensors.__version__}
IDS = [[1, 17, 33, 2, 60, 45, 8, 19, 63], [5, 5, 40, 12, 0, 31, 27, 50, 9]]
PROMPT = [3, 41, 22, 7, 58]
NEW_TOKENS = 12


def randomize(model, seed):
    """Non-trivial weights (the defaults are tiny): norms near 1, matrices with unit-variance rows."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = 4 if "embed" in name else p.shape[-1]
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)


def build(case, model, dtype):
    folder = os.path.join(OUT, case)
    shutil.rmtree(folder, ignore_errors=True)
    model.to(dtype).save_pretrained(folder)
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(folder, extra)):
            os.remove(os.path.join(folder, extra))
    # What a user gets: transformers loading the 16-bit folder as float32 (exact widening, f32 compute).
    f32 = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    native = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, attn_implementation="eager").eval()
    stored = {n: p.dtype for n, p in native.named_parameters()}
    assert all(d == dtype for d in stored.values()), stored
    ids = torch.tensor(IDS)
    with torch.no_grad():
        logits = f32(ids).logits.float().contiguous()
        logits_native = native(ids).logits.float().contiguous()
        prompt = torch.tensor([PROMPT])
        out = f32.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=NEW_TOKENS,
                           min_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None, pad_token_id=0)
    greedy = out[0, len(PROMPT):].to(torch.int32).contiguous()
    tensors = {"ids": ids.to(torch.int32).contiguous(), "logits": logits, "logits_native": logits_native,
               "prompt": torch.tensor(PROMPT, dtype=torch.int32), "greedy": greedy}
    meta = dict(META, case=case, dtype=str(dtype),
                native_vs_f32_max_abs=float((logits_native - logits).abs().max()))
    save_file(tensors, os.path.join(folder, "reference.safetensors"), metadata={"meta": json.dumps(meta)})
    print(json.dumps(meta))


def main():
    torch.manual_seed(0)
    llama = LlamaForCausalLM(LlamaConfig(
        vocab_size=64, hidden_size=40, intermediate_size=72, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, tie_word_embeddings=True,
        bos_token_id=None, eos_token_id=None, pad_token_id=None))
    randomize(llama, 20)
    build("llama-bf16", llama, torch.bfloat16)
    qwen = Qwen2ForCausalLM(Qwen2Config(
        vocab_size=64, hidden_size=40, intermediate_size=72, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, tie_word_embeddings=False,
        bos_token_id=None, eos_token_id=None, pad_token_id=None))
    randomize(qwen, 21)
    build("qwen2-f16", qwen, torch.float16)


if __name__ == "__main__":
    main()
