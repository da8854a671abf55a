#!/usr/bin/env python3
"""llama.cpp's own tokenizer (`llama-tokenize`) on GGUF files *we* write, for
EvaluationTests.GGUFLlamaTokenizeTests: our tokenizer must give llama.cpp's ids on them.

Our files come from the built `compress convert FOLDER --output x.gguf --type T` (run by this script):
  spm         fixtures/gguf/spm/hf: SentencePiece BPE with byte fallback (tokenizer.ggml.model "llama")
  gpt-2       fixtures/models/shakespeare-llama: byte-level BPE, lone ByteLevel pre-tokenizer
  llama-bpe   fixtures/tokenizers/llama3-bpe.tokenizer.json (Llama 3 Split regex) on a tiny random
              LlamaForCausalLM made here (seed 0, vocab 1500)
  qwen2       the same vocabulary with Qwen2's Split regex on a tiny random Qwen2ForCausalLM (seed 1)
  smollm2     ~/.cache/whittle/models/smollm2-135m-instruct (SmolLM2-135M, written "smollm"; Q8_0 to
              keep the file small; skipped when absent)
Texts: the first WikiText-2 test lines of fixtures/data/wikitext2-test-head.txt.gz (its " @-@ "
spacing, leading spaces, trailing newline), Unicode (accents, CJK, Khmer, emoji with ZWJ), whitespace
runs (spaces, tabs, newlines), digits and contractions. Ids: `llama-tokenize -f text --ids --no-bos
--no-escape`, and transformers' AutoTokenizer on the source folder (add_special_tokens=False) beside them.

  fixtures/gguf/tokenizer/llama_tokenize_check.json
      {"texts": [...], "files": {name: {"source": folder or tokenizer.json (repo-relative, or "cache:…"),
        "type": ggml type written, "written": {"tokenizer.ggml.model", "tokenizer.ggml.pre", "tokens", "merges"}
        (read back from our file with gguf-py), "llama_cpp": [[ids]], "transformers": [[ids]]}}}
  fixtures/gguf/tokenizer/llama3-bpe/, qwen2-bpe/: the two tiny folders (config, tokenizer files,
      random weights; the Swift test re-writes their metadata).

Run (after `swift build -c release`): WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp \
    /root/venv/bin/python tools/reference/gguf_llama_tokenize_check.py
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

import gguf
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "fixtures", "gguf", "tokenizer")
LLAMA = os.environ.get("WHITTLE_LLAMA_CPP", "/tmp/whittle-llamacpp/llama.cpp")
BIN = os.path.join(LLAMA, "build", "bin")
COMPRESS = os.path.join(ROOT, ".build", "release", "compress")
SMOLLM2 = os.path.expanduser("~/.cache/whittle/models/smollm2-135m-instruct")
QWEN2_REGEX = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
               "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")   # Qwen2's tokenizer.json Split regex


def texts():
    wiki = gzip.open(os.path.join(ROOT, "fixtures", "data", "wikitext2-test-head.txt.gz"), "rt", encoding="utf-8").read()
    lines = [l + "\n" for l in wiki.split("\n") if l.strip()][:6]
    return lines + [
        "Ünïcödé café — naïve façade, 日本語の文章 and emoji 🙂🦙 😶\u200d🌫️ កាន់តែពិសេស нещо на Български",
        "  two leading spaces,   three inside,\ttab,\t\ttwo tabs\n\n\nthree newlines   \n trailing   ",
        "3 33 333 3333 33333 3.14159 2026-12-01 1,000,000 0x1F",
        "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL",
        "```code``` \"\"\"\"......!!!!!!?????? ------======= (parenthesised) [brackets] {braces}",
    ]


def tiny_folder(path, tokenizer, regex, qwen, seed):
    """A tiny random model folder using `tokenizer` (its Split regex replaced by `regex` when given)."""
    os.makedirs(path, exist_ok=True)
    tok = json.load(open(tokenizer, encoding="utf-8"))
    if regex:
        tok["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = regex
    with open(os.path.join(path, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>",
                   "eos_token": "<|end_of_text|>", "add_bos_token": False}, f, indent=1)
    torch.manual_seed(seed)
    kw = dict(vocab_size=1500, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=128, bos_token_id=0, eos_token_id=1)
    model = Qwen2ForCausalLM(Qwen2Config(**kw)) if qwen else LlamaForCausalLM(LlamaConfig(**kw))
    model.save_pretrained(path)


def llama_tokenize(model, text):
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
        f.write(text)
    try:
        out = subprocess.run([os.path.join(BIN, "llama-tokenize"), "-m", model, "-f", f.name, "--ids", "--no-bos",
                              "--no-escape", "--log-disable"], check=True, capture_output=True, text=True,
                             env=dict(os.environ, LD_LIBRARY_PATH=BIN)).stdout
    finally:
        os.remove(f.name)
    return json.loads([l for l in out.splitlines() if l.startswith("[")][-1])


def written(path):
    r = gguf.GGUFReader(path)

    def string(key):
        f = r.fields[key]
        return bytes(f.parts[f.data[0]]).decode()
    return {"tokenizer.ggml.model": string("tokenizer.ggml.model"), "tokenizer.ggml.pre": string("tokenizer.ggml.pre"),
            "tokens": len(r.fields["tokenizer.ggml.tokens"].data),
            "merges": len(r.fields["tokenizer.ggml.merges"].data) if "tokenizer.ggml.merges" in r.fields else 0}


def main():
    if not os.path.exists(COMPRESS):
        sys.exit(f"{COMPRESS} not found: swift build -c release first")
    sources = {"spm": ("fixtures/gguf/spm/hf", "f32"), "gpt-2": ("fixtures/models/shakespeare-llama", "f32"),
               "llama-bpe": ("fixtures/gguf/tokenizer/llama3-bpe", "f32"), "qwen2": ("fixtures/gguf/tokenizer/qwen2-bpe", "f32")}
    llama3 = os.path.join(ROOT, "fixtures", "tokenizers", "llama3-bpe.tokenizer.json")
    tiny_folder(os.path.join(ROOT, sources["llama-bpe"][0]), llama3, None, qwen=False, seed=0)
    tiny_folder(os.path.join(ROOT, sources["qwen2"][0]), llama3, QWEN2_REGEX, qwen=True, seed=1)
    if os.path.exists(os.path.join(SMOLLM2, "model.safetensors")):
        sources["smollm2"] = ("cache:smollm2-135m-instruct", "q8_0")
    else:
        print("SmolLM2 not found (../shared/tools/get-smollm2.sh): fixture written without it", file=sys.stderr)
    ref = {"texts": texts(), "files": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (source, type_) in sources.items():
            folder = SMOLLM2 if source.startswith("cache:") else os.path.join(ROOT, source)
            path = os.path.join(tmp, name + ".gguf")
            subprocess.run([COMPRESS, "convert", folder, "--output", path, "--type", type_], check=True, capture_output=True)
            hf = AutoTokenizer.from_pretrained(folder)
            ref["files"][name] = {"source": source, "type": type_, "written": written(path),
                                  "llama_cpp": [llama_tokenize(path, t) for t in ref["texts"]],
                                  "transformers": [hf.encode(t, add_special_tokens=False) for t in ref["texts"]]}
            same = sum(a == b for a, b in zip(ref["files"][name]["llama_cpp"], ref["files"][name]["transformers"]))
            print(f"{name}: {ref['files'][name]['written']}; llama.cpp = transformers on {same}/{len(ref['texts'])} texts")
    with open(os.path.join(OUT, "llama_tokenize_check.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, indent=None, ensure_ascii=False)


if __name__ == "__main__":
    main()
