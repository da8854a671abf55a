#!/usr/bin/env python3
"""A real SentencePiece vocabulary in GGUF, and a Llama 3.1-style rope scaling, converted by llama.cpp's
own converter; ids from llama.cpp's own tokenizer and from transformers; logits from transformers.

  fixtures/gguf/spm/tokenizer.model
      a SentencePiece BPE model (512 pieces, byte_fallback, digits split) trained by the sentencepiece
      package on fixtures/data/shakespeare-train.txt (identity normalisation, whitespace kept).
  fixtures/gguf/spm/hf/            a tiny random LlamaForCausalLM (seed 0) with that tokenizer:
      tokenizer.model, tokenizer_config.json (LlamaTokenizer, legacy), tokenizer.json (what
      transformers' LlamaTokenizer saves from the .model: BPE + byte_fallback, Metaspace, merges).
  fixtures/gguf/spm/hf-llama3/     the same with rope_scaling {"rope_type": "llama3", ...} (seed 1),
      tied embeddings.
  fixtures/gguf/spm/spm-f32.gguf, llama3-f32.gguf
      `convert_hf_to_gguf.py --outtype f32` of the two folders (tokenizer.ggml.model "llama": tokens,
      scores, token types from the .model; llama3-f32.gguf carries `rope_freqs.weight`).
  fixtures/gguf/spm/reference.json
      {"texts", "llama_cpp": [[ids]] (`llama-tokenize --ids --no-bos` on spm-f32.gguf),
       "transformers": [[ids]] (AutoTokenizer on hf/, add_special_tokens=False),
       "llama_cpp_with_bos": ids of texts[0] with llama.cpp's default specials}
  fixtures/gguf/spm/reference.safetensors
      ids [T] (I64); logits_spm, logits_llama3 [T, V] F32: transformers' forward of the two folders.

Run: WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp PYTHONPATH=/tmp/whittle-llamacpp/pydeps \
     /root/venv/bin/python tools/reference/gguf_spm_reference.py
(the pydeps folder of tools/setup_llamacpp.sh has sentencepiece; protobuf is needed too.)
"""
import json
import os
import shutil
import subprocess
import sys

import sentencepiece as spm
import torch
from safetensors.torch import save_file
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "fixtures", "gguf", "spm")
LLAMA = os.environ.get("WHITTLE_LLAMA_CPP", "/tmp/whittle-llamacpp/llama.cpp")
TOKENIZE = os.path.join(LLAMA, "build", "bin", "llama-tokenize")
CONVERT = os.path.join(LLAMA, "convert_hf_to_gguf.py")
TEXTS = [
    "First Citizen:\nBefore we proceed any further, hear me speak.",
    "All:\nSpeak, speak.\n\n  What's this? They'll say 'tis 12345 o'clock!",
    " leading space,  two spaces,\ttab and trailing space ",
    "Ünïcödé café — naïve façade, 日本語 and emoji 🙂.",
    "KING RICHARD III:\nNow is the winter of our discontent",
]
IDS = [1, 17, 5, 94, 33, 0, 61, 8, 42, 77, 3, 250, 300, 511]
TOKENIZER_CONFIG = {"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": False, "legacy": True,
                    "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "model_max_length": 256}


def model_folder(path, seed, rope_scaling, tied):
    os.makedirs(path, exist_ok=True)
    shutil.copy(os.path.join(OUT, "tokenizer.model"), os.path.join(path, "tokenizer.model"))
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump(TOKENIZER_CONFIG, f, indent=1)
    AutoTokenizer.from_pretrained(path).save_pretrained(path)   # writes tokenizer.json beside the .model
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=512, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=1, head_dim=16, max_position_embeddings=4096, rms_norm_eps=1e-5,
                      rope_theta=10000.0, rope_scaling=rope_scaling, tie_word_embeddings=tied,
                      bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    model.save_pretrained(path, safe_serialization=True)
    for extra in ["generation_config.json"]:
        if os.path.exists(os.path.join(path, extra)):
            os.remove(os.path.join(path, extra))
    with torch.no_grad():
        return model(torch.tensor([IDS])).logits[0].float().contiguous()


def tokenize(model, text, bos):
    args = [TOKENIZE, "-m", model, "-p", text, "--ids", "--log-disable"] + ([] if bos else ["--no-bos"])
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads([l for l in out.splitlines() if l.startswith("[")][-1])


def main():
    for tool in (TOKENIZE, CONVERT):
        if not os.path.exists(tool):
            sys.exit(f"{tool} not found: run tools/setup_llamacpp.sh or set WHITTLE_LLAMA_CPP")
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    spm.SentencePieceTrainer.train(
        input=os.path.join(ROOT, "fixtures", "data", "shakespeare-train.txt"), model_prefix=os.path.join(OUT, "tokenizer"),
        vocab_size=512, model_type="bpe", byte_fallback=True, character_coverage=1.0, num_threads=1, unk_id=0, bos_id=1,
        eos_id=2, split_digits=True, allow_whitespace_only_pieces=True, remove_extra_whitespaces=False,
        normalization_rule_name="identity", minloglevel=2)
    os.remove(os.path.join(OUT, "tokenizer.vocab"))
    logits = {
        "logits_spm": model_folder(os.path.join(OUT, "hf"), 0, None, False),
        "logits_llama3": model_folder(os.path.join(OUT, "hf-llama3"), 1, {
            "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 32.0,
            "original_max_position_embeddings": 512}, True),
    }
    for folder, name in [("hf", "spm-f32.gguf"), ("hf-llama3", "llama3-f32.gguf")]:
        subprocess.run([sys.executable, CONVERT, os.path.join(OUT, folder), "--outfile", os.path.join(OUT, name),
                        "--outtype", "f32"], check=True, capture_output=True)
    save_file({"ids": torch.tensor(IDS, dtype=torch.int64), **logits}, os.path.join(OUT, "reference.safetensors"))
    gguf = os.path.join(OUT, "spm-f32.gguf")
    hf = AutoTokenizer.from_pretrained(os.path.join(OUT, "hf"))
    ref = {"texts": TEXTS,
           "llama_cpp": [tokenize(gguf, t, False) for t in TEXTS],
           "transformers": [hf.encode(t, add_special_tokens=False) for t in TEXTS],
           "llama_cpp_with_bos": tokenize(gguf, TEXTS[0], True)}
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
    for t, a, b in zip(TEXTS, ref["llama_cpp"], ref["transformers"]):
        print("same" if a == b else "DIFFERENT", repr(t[:30]), a[:12])


if __name__ == "__main__":
    main()
