"""transformers peer for `whittle-bench decoding`: greedy `generate` (its KV cache) on the same model,
prompt, thread count and number of new tokens.

Prints one JSON line {"seconds": [wall, per run], "cpu_seconds": [process CPU, per run],
"tokens": [new ids of the last run], ...}. Timing covers
the whole generate call (prefill included), as on our side. Default attention implementation (sdpa).
"""
import argparse, json, time
import torch, transformers
from transformers import AutoModelForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--prompt", required=True, help="comma-separated token ids")
p.add_argument("--new-tokens", type=int, default=128)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--runs", type=int, default=3)
p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"],
               help="compute dtype (float32 upcasts a 16-bit checkpoint; bfloat16 computes in it)")
a = p.parse_args()
torch.set_num_threads(a.threads)
model = AutoModelForCausalLM.from_pretrained(a.model, dtype=getattr(torch, a.dtype)).eval()
x = torch.tensor([[int(t) for t in a.prompt.split(",")]])
kw = dict(attention_mask=torch.ones_like(x), do_sample=False, eos_token_id=None, pad_token_id=0, use_cache=True)
with torch.inference_mode():
    model.generate(x, max_new_tokens=8, **kw)      # warm-up
    seconds, cpu, out = [], [], None
    for _ in range(a.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        out = model.generate(x, max_new_tokens=a.new_tokens, min_new_tokens=a.new_tokens, **kw)
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "tokens": out[0, x.shape[1]:].tolist(), "threads": a.threads,
                  "torch": torch.__version__, "dtype": a.dtype, "transformers": transformers.__version__,
                  "attn": model.config._attn_implementation}))
