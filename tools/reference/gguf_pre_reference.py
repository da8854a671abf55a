#!/usr/bin/env python3
"""Which `tokenizer.ggml.pre` llama.cpp's own converter writes, and how it decides, for
CheckpointsTests.GGUFPreTokenizerTests (our GGUF writer must write the same name).

convert_hf_to_gguf.py (conversion/base.py, `get_vocab_base_pre`) encodes a fixed check text with the
folder's transformers tokenizer, hashes `str(ids)` with SHA-256 and looks the hash up in its table of
known tokenizers; an unknown hash makes it refuse the model. This script runs the converter itself
(`--vocab-only`) on each folder and reads the name back from its GGUF, and records the check text, the
ids transformers gives for it and their hash.

  fixtures/gguf/tokenizer/pre.json
      {"check_text": llama.cpp's check text (read from conversion/base.py),
       "folders": {name: {"tokenizer": path of the tokenizer.json used, relative to the repo or "shared:…",
                          "ids": AutoTokenizer(folder).encode(check_text), "sha256": hex of str(ids),
                          "vocab_fnv1a64": FNV-1a of the token list as written (see vocab_fnv1a64),
                          "converter_pre": the converter's tokenizer.ggml.pre, or null when it refuses}}}

Folders: SmolLM2-135M-Instruct (../shared/tokenizers/smollm2-tokenizer.json, the tokenizer.json of
~/.cache/whittle/models/smollm2-135m-instruct, with that folder's config; skipped when absent) and
fixtures/models/shakespeare-llama (a byte-level BPE trained here: unknown to the converter).

Run: WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp /root/venv/bin/python tools/reference/gguf_pre_reference.py
"""
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import gguf
from transformers import AutoTokenizer

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "fixtures", "gguf", "tokenizer", "pre.json")
LLAMA = os.environ.get("WHITTLE_LLAMA_CPP", "/tmp/whittle-llamacpp/llama.cpp")
PYDEPS = os.environ.get("WHITTLE_LLAMA_PYDEPS", os.path.join(os.path.dirname(LLAMA), "pydeps"))   # sentencepiece (tools/setup_llamacpp.sh)
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
SMOLLM2_FOLDER = os.path.expanduser("~/.cache/whittle/models/smollm2-135m-instruct")


def check_text():
    """The converter's `chktxt` literal, read from its source (not retyped here)."""
    src = open(os.path.join(LLAMA, "conversion", "base.py"), encoding="utf-8").read()
    m = re.search(r"^\s*chktxt = (.+)$", src, re.M)
    return ast.literal_eval(m.group(1))


def converter_pre(folder):
    """Run convert_hf_to_gguf.py --vocab-only on `folder`; its tokenizer.ggml.pre, or None if it refuses."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "vocab.gguf")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(LLAMA, "gguf-py"), PYDEPS]))
        p = subprocess.run([sys.executable, os.path.join(LLAMA, "convert_hf_to_gguf.py"), folder, "--vocab-only",
                            "--outfile", out], env=env, capture_output=True, text=True)
        if p.returncode != 0:
            if "pre-tokenizer was not recognized" not in p.stderr:
                sys.exit(f"converter failed on {folder}:\n{p.stderr[-2000:]}")
            return None
        field = gguf.GGUFReader(out).fields["tokenizer.ggml.pre"]
        return bytes(field.parts[field.data[0]]).decode()


def vocab_fnv1a64(folder):
    """FNV-1a (64-bit) of the token list as the GGUF holds it (ids the vocabulary skips written as
    [PAD<id>], up to config.json's vocab_size), each token followed by a zero byte: how our writer
    recognises a known vocabulary (GGUFPreTokenizer.knownVocabularies)."""
    tok = json.load(open(os.path.join(folder, "tokenizer.json"), encoding="utf-8"))
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    by_id.update({a["id"]: a["content"] for a in tok.get("added_tokens", [])})
    n = json.load(open(os.path.join(folder, "config.json")))["vocab_size"]
    h = 0xcbf29ce484222325
    for i in range(n):
        for b in by_id.get(i, f"[PAD{i}]").encode() + b"\0":
            h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def folder_entry(folder, tokenizer_label, text):
    ids = AutoTokenizer.from_pretrained(folder).encode(text)   # what get_vocab_base_pre hashes
    return {"tokenizer": tokenizer_label, "ids": ids, "sha256": hashlib.sha256(str(ids).encode()).hexdigest(),
            "vocab_fnv1a64": vocab_fnv1a64(folder), "converter_pre": converter_pre(folder)}


def main():
    text = check_text()
    ref = {"check_text": text, "folders": {}}
    shakespeare = os.path.join(ROOT, "fixtures", "models", "shakespeare-llama")
    ref["folders"]["shakespeare-llama"] = folder_entry(shakespeare, "fixtures/models/shakespeare-llama/tokenizer.json", text)
    shared_tok = os.path.join(SHARED, "tokenizers", "smollm2-tokenizer.json")
    if os.path.exists(os.path.join(SMOLLM2_FOLDER, "config.json")) and os.path.exists(shared_tok):
        with tempfile.TemporaryDirectory() as tmp:   # config + tokenizer files only: the converter reads no weights with --vocab-only
            for name in ("config.json", "tokenizer_config.json"):
                shutil.copy(os.path.join(SMOLLM2_FOLDER, name), tmp)
            shutil.copy(shared_tok, os.path.join(tmp, "tokenizer.json"))
            entry = folder_entry(tmp, "shared:tokenizers/smollm2-tokenizer.json", text)
        with open(os.path.join(SMOLLM2_FOLDER, "config.json")) as f:
            entry["config"] = {k: v for k, v in json.load(f).items() if k.endswith("_token_id") or k == "vocab_size"}
        ref["folders"]["smollm2"] = entry
    else:
        print("SmolLM2 not found (../shared/tools/get-smollm2.sh): fixture written without it", file=sys.stderr)
    with open(OUT, "w") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
    for name, e in ref["folders"].items():
        print(name, e["converter_pre"], e["sha256"], len(e["ids"]), "vocabulary FNV-1a", e["vocab_fnv1a64"])


if __name__ == "__main__":
    main()
