#!/usr/bin/env python3
"""llama.cpp's own tokenizer on GGUF vocabularies, for EvaluationTests/GGUFTokenizerTests (our
tokenizer rebuilt from `tokenizer.ggml.*` metadata must give llama.cpp's ids).

  fixtures/gguf/tokenizer/shakespeare-vocab.gguf
      a vocabulary-only GGUF (no tensors) made with the gguf Python package from
      fixtures/models/shakespeare-llama/tokenizer.json the way convert_hf_to_gguf.py's
      `_set_vocab_gpt2` does (tokens by id, types: control for special added tokens, merges "a b",
      pre-tokenizer "gpt-2"; merges and special ids by gguf.SpecialVocab); llama.cpp loads it vocab_only.
  fixtures/gguf/tokenizer/reference.json
      {"texts": [...], "shakespeare": [[ids]...], "smollm2": [[ids]...] or null}: `llama-tokenize --ids
      --no-bos` on each text, for the file above and for the SmolLM2-135M Q4_1 GGUF
      (../shared/tools/get-smollm2.sh; pre-tokenizer "smollm"), when it is present.

Run: WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp /root/venv/bin/python tools/reference/gguf_tokenizer_reference.py
"""
import json
import os
import subprocess
import sys

import gguf

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "fixtures", "gguf", "tokenizer")
LLAMA = os.environ.get("WHITTLE_LLAMA_CPP", "/tmp/whittle-llamacpp/llama.cpp")
TOKENIZE = os.path.join(LLAMA, "build", "bin", "llama-tokenize")
SMOLLM2 = os.path.expanduser("~/.cache/whittle/models/smollm2-135m-instruct.Q4_1.gguf")
TEXTS = [
    "First Citizen:\nBefore we proceed any further, hear me speak.",
    "All:\nSpeak, speak.\n\n  What's this? They'll say 'tis 12345 o'clock!",
    "Numbers 3.14159 and 2026-12-01, tabs\tand   spaces.",
    "Ünïcödé café — naïve façade, 日本語 and emoji 🙂.",
    "<|endoftext|>The end.",
]


def vocab_gguf(path):
    folder = os.path.join(ROOT, "fixtures", "models", "shakespeare-llama")
    tok = json.load(open(os.path.join(folder, "tokenizer.json")))
    cfg = json.load(open(os.path.join(folder, "config.json")))
    vocab = dict(tok["model"]["vocab"])
    special = {}
    for a in tok["added_tokens"]:
        vocab[a["content"]] = a["id"]
        special[a["id"]] = a["special"]
    n = cfg["vocab_size"]
    by_id = {i: t for t, i in vocab.items()}
    tokens, types = [], []
    for i in range(n):
        tokens.append(by_id.get(i, f"[PAD{i}]"))
        types.append(gguf.TokenType.UNUSED if i not in by_id else
                     gguf.TokenType.CONTROL if special.get(i) else
                     gguf.TokenType.USER_DEFINED if i in special else gguf.TokenType.NORMAL)
    w = gguf.GGUFWriter(path, "llama")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    # merges, special token ids and add_bos/eos flags the way the converter writes them (gguf.SpecialVocab)
    gguf.SpecialVocab(folder, load_merges=True, n_vocab=n).add_to_gguf(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def tokenize(model, text):
    out = subprocess.run([TOKENIZE, "-m", model, "-p", text, "--ids", "--no-bos", "--log-disable"],
                         check=True, capture_output=True, text=True).stdout
    line = [l for l in out.splitlines() if l.startswith("[")][-1]
    return json.loads(line)


def main():
    if not os.path.exists(TOKENIZE):
        sys.exit(f"{TOKENIZE} not found: run tools/setup_llamacpp.sh or set WHITTLE_LLAMA_CPP")
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "shakespeare-vocab.gguf")
    vocab_gguf(path)
    ref = {"texts": TEXTS, "shakespeare": [tokenize(path, t) for t in TEXTS],
           "smollm2": [tokenize(SMOLLM2, t) for t in TEXTS] if os.path.exists(SMOLLM2) else None}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
    print(json.dumps(ref, ensure_ascii=False)[:400])


if __name__ == "__main__":
    main()
