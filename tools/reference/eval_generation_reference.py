"""Greedy continuations of stories260K by transformers' generate(do_sample=False), as an exact-match data set.

Writes fixtures/eval/stories260k_greedy.jsonl: one record per prompt, `input` = the prompt ids as text
("1 436 422 …", the model has no tokenizer) and `label` = the 12 greedily generated ids as text;
fixtures/eval/stories260k_greedy.json records the generator and versions.
Run: /root/venv/bin/python tools/reference/eval_generation_reference.py [--shared ../shared]
"""
import argparse, json, os
import torch, transformers
from transformers import AutoModelForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "../../../shared"))
args = p.parse_args()
root = os.path.normpath(os.path.join(os.path.dirname(__file__), "../.."))
lm = AutoModelForCausalLM.from_pretrained(os.path.join(args.shared, "models/stories260K"), dtype=torch.float32).eval()
lines = open(os.path.join(root, "fixtures/eval/stories260k_samples.tokens")).read().split("\n")
prompts = [list(map(int, l.split()))[:n] for l, n in zip(lines[:4], [1, 5, 9, 17])]
records = []
with torch.no_grad():
    for ids in prompts:
        out = lm.generate(torch.tensor([ids]), max_new_tokens=12, do_sample=False, eos_token_id=None, pad_token_id=0)
        new = out[0, len(ids):].tolist()
        records.append({"input": " ".join(map(str, ids)), "label": " ".join(map(str, new))})
with open(os.path.join(root, "fixtures/eval/stories260k_greedy.jsonl"), "w") as f:
    for r in records:
        f.write(json.dumps(r) + "\n")
json.dump({"meta": {"generator": "tools/reference/eval_generation_reference.py", "torch": torch.__version__,
                    "transformers": transformers.__version__, "max_new_tokens": 12, "do_sample": False, "eos": None}},
          open(os.path.join(root, "fixtures/eval/stories260k_greedy.json"), "w"), indent=1)
print(records)
