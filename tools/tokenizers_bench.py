#!/usr/bin/env python3
"""Peer measurement for `whittle-bench tokenizers`: encode throughput of the Hugging Face `tokenizers`
library on the Tiny Shakespeare lines, for one tokenizer file and thread count.

usage: tokenizers_bench.py TOKENIZER_JSON TEXT_FILE THREADS
Prints one JSON object: {"tokens": …, "bytes": …, "seconds": best of 5, "threads": …, "tokenizers": version}.
THREADS=1 runs with TOKENIZERS_PARALLELISM=false; otherwise RAYON_NUM_THREADS=THREADS.
"""
import json
import os
import sys
import time

path, text_file, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
if threads == 1:
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
else:
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    os.environ["RAYON_NUM_THREADS"] = str(threads)

import tokenizers  # noqa: E402  (after the environment is set)
from tokenizers import Tokenizer  # noqa: E402

tok = Tokenizer.from_file(path)
tok.no_padding()
tok.no_truncation()
lines = open(text_file, encoding="utf-8").read().split("\n")
best = float("inf")
count = 0
for _ in range(5):
    t0 = time.perf_counter()
    encs = tok.encode_batch(lines)
    best = min(best, time.perf_counter() - t0)
    count = sum(len(e.ids) for e in encs)
print(json.dumps({"tokens": count, "bytes": sum(len(l.encode()) + 1 for l in lines), "seconds": best,
                  "threads": threads, "tokenizers": tokenizers.__version__}))
