"""transformers peer for the BF16 perplexity row of BENCHMARKS.md ("16-bit weights at run time"): the same
windows as `compress eval --seq-len 512 --max-tokens N` (the text tokenized whole without special tokens,
cut to N tokens, non-overlapping windows each predicting its seq_len − 1 next tokens), NLL summed in float64.
--dtype float32 loads a BF16 folder upcast (exactly our arithmetic); bfloat16 computes in it.
Prints one JSON line {perplexity, count, seconds, dtype, ...}; seconds cover tokenizing and the forwards.
Run: /root/venv/bin/python tools/bench/perplexity_torch.py --model DIR --text FILE [--max-tokens 4096] [--dtype float32]
"""
import argparse, json, math, time
import torch, transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--text", required=True)
p.add_argument("--seq-len", type=int, default=512)
p.add_argument("--max-tokens", type=int, default=4096)
p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
model = AutoModelForCausalLM.from_pretrained(a.model, dtype=getattr(torch, a.dtype)).eval()
t0 = time.perf_counter()
ids = AutoTokenizer.from_pretrained(a.model)(open(a.text, encoding="utf-8").read(), add_special_tokens=False)["input_ids"][:a.max_tokens]
nll, count = 0.0, 0
with torch.inference_mode():
    for begin in range(0, len(ids) - 1, a.seq_len):
        window = torch.tensor([ids[begin:begin + a.seq_len]])
        if window.shape[1] < 2:
            break
        logp = torch.log_softmax(model(window).logits[0].float(), dim=-1)
        nll -= logp[:-1].gather(1, window[0, 1:, None]).double().sum().item()
        count += window.shape[1] - 1
print(json.dumps({"perplexity": math.exp(nll / count), "count": count, "seconds": time.perf_counter() - t0, "dtype": a.dtype,
                  "threads": a.threads, "torch": torch.__version__, "transformers": transformers.__version__}))
