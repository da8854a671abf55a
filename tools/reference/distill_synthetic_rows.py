"""Writes fixtures/distill/arithmetic_rationales.jsonl: 64 rows of the synthetic two-step arithmetic task
(ALGORITHMS.md §6.5; the same rule as Swift's `syntheticArithmetic`, drawn with Python's random, seed 0):
input "a b c", rationale "a+b=s s*c=p", s = (a + b) mod 10, p = (s * c) mod 10, label "p"."""
import json, os, random
random.seed(0)
out = os.path.join(os.path.dirname(__file__), "../../fixtures/distill/arithmetic_rationales.jsonl")
with open(out, "w") as f:
    for code in random.sample(range(1000), 64):
        a, b, c = code // 100, code // 10 % 10, code % 10
        s = (a + b) % 10
        p = s * c % 10
        f.write(json.dumps({"input": f"{a} {b} {c}", "label": str(p), "rationale": f"{a}+{b}={s} {s}*{c}={p}"}) + "\n")
