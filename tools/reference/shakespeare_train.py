#!/usr/bin/env python3
"""Builds Whittle's default model: a small Llama trained on Tiny Shakespeare.

Steps (all deterministic from SEED):
  1. split ../shared/data/tinyshakespeare/input.txt at a line boundary: first 90% -> train,
     last 10% -> held-out valid (fixtures/data/shakespeare-{train,valid}.txt);
  2. train a byte-level BPE tokenizer (~1k tokens, GPT-2 pre-tokenizer regex) on the train split;
  3. train a LlamaForCausalLM on the train split (random 256-token windows, AdamW, cosine);
  4. save model + tokenizer + TRAINING.json into fixtures/models/shakespeare-llama/.

Run from the repository root:  /root/venv/bin/python tools/reference/shakespeare_train.py
Then run tools/reference/shakespeare_reference.py to refresh REFERENCE.json.
"""
import json
import math
import os
import platform
import random
import sys
import time

import numpy as np
import safetensors
import tokenizers
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.environ.get(
    "WHITTLE_SHAKESPEARE",
    os.path.join(REPO, "..", "shared", "data", "tinyshakespeare", "input.txt"))
DATA_DIR = os.path.join(REPO, "fixtures", "data")
MODEL_DIR = os.path.join(REPO, "fixtures", "models", "shakespeare-llama")

SEED = 0
TRAIN_FRACTION = 0.9
SPECIAL = "<|endoftext|>"

TOKENIZER = {"vocab_size": 1024, "min_frequency": 2}
MODEL = {
    "hidden_size": 128,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 352,
    "max_position_embeddings": 512,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
}
TRAIN = {
    "seq_len": 256,
    "batch_size": 16,
    "steps": int(os.environ.get("WHITTLE_STEPS", "600")),
    "warmup_steps": 30,
    "peak_lr": 3e-3,
    "min_lr_ratio": 0.1,
    "weight_decay": 0.1,
    "betas": [0.9, 0.95],
    "grad_clip": 1.0,
    "eval_every": 100,
    "threads": 2,
}


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def split_corpus(text):
    """Cut at the first line boundary at or after TRAIN_FRACTION of the characters."""
    target = int(len(text) * TRAIN_FRACTION)
    cut = text.index("\n", target) + 1
    return text[:cut], text[cut:]


def train_tokenizer(train_text):
    tok = Tokenizer(models.BPE())
    # ByteLevel with use_regex=True applies the GPT-2 split regex before byte mapping.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=TOKENIZER["vocab_size"],
        min_frequency=TOKENIZER["min_frequency"],
        special_tokens=[SPECIAL],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([train_text], trainer=trainer)
    return tok


def lr_at(step):
    t = TRAIN
    if step < t["warmup_steps"]:
        return t["peak_lr"] * (step + 1) / t["warmup_steps"]
    progress = (step - t["warmup_steps"]) / max(1, t["steps"] - t["warmup_steps"])
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return t["peak_lr"] * (t["min_lr_ratio"] + (1 - t["min_lr_ratio"]) * cosine)


@torch.no_grad()
def mean_loss(model, ids, seq_len, max_windows=None):
    """Token-weighted mean NLL over non-overlapping full windows (same rule as the reference)."""
    model.eval()
    n = len(ids) // seq_len
    if max_windows:
        n = min(n, max_windows)
    total, count = 0.0, 0
    for b in range(0, n, 16):
        rows = [ids[i * seq_len:(i + 1) * seq_len] for i in range(b, min(n, b + 16))]
        x = torch.tensor(rows, dtype=torch.long)
        out = model(input_ids=x, labels=x)
        predicted = x.shape[0] * (seq_len - 1)
        total += out.loss.item() * predicted
        count += predicted
    model.train()
    return total / count


def main():
    torch.set_num_threads(TRAIN["threads"])
    seed_everything(SEED)
    os.makedirs(DATA_DIR, exist_ok=True)
    os.makedirs(MODEL_DIR, exist_ok=True)

    with open(CORPUS, encoding="utf-8") as f:
        text = f.read()
    train_text, valid_text = split_corpus(text)
    for name, part in (("shakespeare-train.txt", train_text), ("shakespeare-valid.txt", valid_text)):
        with open(os.path.join(DATA_DIR, name), "w", encoding="utf-8", newline="") as f:
            f.write(part)
    print(f"split: train {len(train_text)} chars, valid {len(valid_text)} chars")

    tok = train_tokenizer(train_text)
    vocab_size = tok.get_vocab_size()
    eot = tok.token_to_id(SPECIAL)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=SPECIAL, eos_token=SPECIAL, unk_token=SPECIAL,
        model_max_length=MODEL["max_position_embeddings"])
    fast.save_pretrained(MODEL_DIR)
    # Name the class that transformers 4 and 5 both resolve (5 writes its own "TokenizersBackend").
    config_path = os.path.join(MODEL_DIR, "tokenizer_config.json")
    with open(config_path) as f:
        tok_config = json.load(f)
    tok_config["tokenizer_class"] = "PreTrainedTokenizerFast"
    with open(config_path, "w") as f:
        json.dump(tok_config, f, indent=2)
        f.write("\n")
    # transformers 5 no longer writes special_tokens_map.json; older loaders still read it.
    with open(os.path.join(MODEL_DIR, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": SPECIAL, "eos_token": SPECIAL, "unk_token": SPECIAL}, f, indent=2)
        f.write("\n")

    train_ids = tok.encode(train_text, add_special_tokens=False).ids
    valid_ids = tok.encode(valid_text, add_special_tokens=False).ids
    print(f"tokenizer: vocab {vocab_size}, train {len(train_ids)} tokens, valid {len(valid_ids)} tokens")

    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=MODEL["hidden_size"],
        intermediate_size=MODEL["intermediate_size"],
        num_hidden_layers=MODEL["num_hidden_layers"],
        num_attention_heads=MODEL["num_attention_heads"],
        num_key_value_heads=MODEL["num_key_value_heads"],
        max_position_embeddings=MODEL["max_position_embeddings"],
        rms_norm_eps=MODEL["rms_norm_eps"],
        rope_parameters={"rope_type": "default", "rope_theta": MODEL["rope_theta"]},
        tie_word_embeddings=MODEL["tie_word_embeddings"],
        bos_token_id=eot, eos_token_id=eot, pad_token_id=None,
        hidden_act="silu", attention_bias=False, mlp_bias=False,
    )
    model = LlamaForCausalLM(config)
    params = sum(p.numel() for p in model.parameters())
    print(f"model: {params} parameters")

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": TRAIN["weight_decay"]},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=TRAIN["peak_lr"], betas=tuple(TRAIN["betas"]))

    data = torch.tensor(train_ids, dtype=torch.long)
    seq, bsz = TRAIN["seq_len"], TRAIN["batch_size"]
    gen = torch.Generator().manual_seed(SEED)
    history = []
    model.train()
    start = time.time()
    smooth = None
    for step in range(TRAIN["steps"]):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        starts = torch.randint(0, len(data) - seq, (bsz,), generator=gen)
        x = torch.stack([data[s:s + seq] for s in starts.tolist()])
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), TRAIN["grad_clip"])
        opt.step()
        smooth = loss.item() if smooth is None else 0.95 * smooth + 0.05 * loss.item()
        if (step + 1) % TRAIN["eval_every"] == 0 or step == 0:
            v = mean_loss(model, valid_ids, seq, max_windows=32)
            history.append({"step": step + 1, "train_loss_ema": round(smooth, 4),
                            "valid_loss_subset": round(v, 4), "seconds": round(time.time() - start, 1)})
            print(json.dumps(history[-1]), flush=True)
    seconds = time.time() - start

    final_train = mean_loss(model, train_ids, seq, max_windows=64)
    final_valid = mean_loss(model, valid_ids, seq)
    counts = np.bincount(np.array(train_ids), minlength=vocab_size).astype(np.float64) + 1.0
    probs = counts / counts.sum()
    unigram_nll = float(-np.log(probs[np.array(valid_ids)]).mean())
    print(f"trained {TRAIN['steps']} steps in {seconds:.0f}s: train {final_train:.4f}, "
          f"valid {final_valid:.4f} (ppl {math.exp(final_valid):.2f}; unigram ppl {math.exp(unigram_nll):.2f})")

    model.save_pretrained(MODEL_DIR, safe_serialization=True)
    model.generation_config.save_pretrained(MODEL_DIR)

    prompt = "ROMEO:\n"
    x = torch.tensor([tok.encode(prompt).ids])
    torch.manual_seed(SEED)
    model.eval()
    with torch.no_grad():
        out = model.generate(x, max_new_tokens=80, do_sample=True, temperature=0.8, top_k=40,
                             pad_token_id=eot)
    sample = tok.decode(out[0].tolist())
    print("sample:\n" + sample)

    record = {
        "generator": "tools/reference/shakespeare_train.py",
        "seed": SEED,
        "corpus": "Tiny Shakespeare (karpathy/char-rnn data/tinyshakespeare/input.txt)",
        "split": {"rule": "first line boundary at or after 90% of characters",
                  "train_chars": len(train_text), "valid_chars": len(valid_text),
                  "train_tokens": len(train_ids), "valid_tokens": len(valid_ids)},
        "tokenizer": {**TOKENIZER, "actual_vocab_size": vocab_size, "special": SPECIAL,
                      "special_id": eot, "pre_tokenizer": "ByteLevel(GPT-2 regex, no prefix space)",
                      "post_processor": "ByteLevel (adds no special tokens)"},
        "model": {**MODEL, "parameters": params},
        "training": {**TRAIN, "windows": "random 256-token windows of the train token stream, "
                     "each passed as input_ids and labels", "optimizer": "AdamW (no decay on norms)",
                     "schedule": "linear warmup then cosine to min_lr_ratio * peak_lr"},
        "history": history,
        "final": {"train_loss_64_windows": round(final_train, 4),
                  "valid_loss_all_windows": round(final_valid, 4),
                  "valid_perplexity": round(math.exp(final_valid), 3),
                  "unigram_valid_perplexity_add1": round(math.exp(unigram_nll), 3)},
        "seconds": round(seconds, 1),
        "sample": {"prompt": prompt, "sampling": "temperature 0.8, top_k 40, seed 0", "text": sample},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                     "safetensors": safetensors.__version__, "numpy": np.__version__},
    }
    with open(os.path.join(MODEL_DIR, "TRAINING.json"), "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
