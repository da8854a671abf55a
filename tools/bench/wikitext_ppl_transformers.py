"""Perplexity of a model folder under stock transformers (+ bitsandbytes for a bnb quantization_config),
as `compress`'s perplexity metric takes it: the file's first 4,096 tokens (tokenizer of the original
model, no special tokens), 8 non-overlapping 512-token windows, mean next-token NLL over all predicted
positions. Cross-checks BENCHMARKS.md "The output head in NF4" (our NF4 / NF4 + head files).
Run: /root/venv/bin/python tools/bench/wikitext_ppl_transformers.py FOLDER [FOLDER ...]
"""
import math, os, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

DATA = "/work/shared/data/wikitext2/wikitext2-raw-test.joined.txt"
TOKENIZER = os.path.expanduser("~/.cache/whittle/models/smollm2-135m-instruct")
torch.set_grad_enabled(False)
torch.set_num_threads(2)


def main():
    ids = AutoTokenizer.from_pretrained(TOKENIZER)(open(DATA).read(), add_special_tokens=False)["input_ids"][:4096]
    for folder in sys.argv[1:]:
        model = AutoModelForCausalLM.from_pretrained(folder).eval()
        for mod in model.modules():   # bitsandbytes' dequantize-then-matmul CPU path (quant_checkpoints.py)
            if hasattr(mod, "support_avx512bf16_for_cpu"):
                mod.support_avx512bf16_for_cpu = False
        nll, count = 0.0, 0
        for w in range(0, len(ids), 512):
            x = torch.tensor([ids[w:w + 512]])
            logits = model(x).logits[0, :-1].float()
            nll += torch.nn.functional.cross_entropy(logits, x[0, 1:], reduction="sum").item()
            count += x.shape[1] - 1
        print(f"{folder}: lm_head {type(model.lm_head).__name__}, perplexity {math.exp(nll / count):.2f} over {count} predictions", flush=True)


if __name__ == "__main__":
    main()
