#!/usr/bin/env python3
"""llama.cpp's own quantizer (`llama-quantize`, no importance matrix) on two small models, for
CheckpointsTests/GGUFWriterTests: our GGUF writer must produce the same tensor types and bytes.

  fixtures/gguf/quantize/shakespeare-{q8_0,q4_0,q4_1}.gguf
      fixtures/models/shakespeare-llama (real trained Llama, rows of 128 and 352) converted to an F32
      GGUF the way convert_hf_to_gguf.py does (llama.cpp names, q/k rows permuted), then
      `llama-quantize f32.gguf out.gguf Q8_0|Q4_0|Q4_1` (default mix: the tied token embedding is the
      output tensor, Q8_0 because 128 is not a multiple of 256; norms F32).
  fixtures/gguf/quantize/synthetic-q4_k_m.gguf
      a 4-layer Llama whose weights come from an integer hash (`synthetic_weights`, reproduced bit for
      bit by the Swift test), rows of 256, untied head; `llama-quantize ... Q4_K_M` (Q4_K, Q6_K for
      output and for attn_v/ffn_down of the layers `use_more_bits` picks).
  fixtures/gguf/quantize/dequantized.safetensors
      the gguf Python package's dequantization (gguf.quants.dequantize) of a few of those tensors,
      named "<fixture>/<tensor>", for the round trip (our writer → our reader).

Needs llama.cpp built from source: tools/setup_llamacpp.sh (or WHITTLE_LLAMA_CPP=path/to/llama.cpp
with build/bin/llama-quantize).
Run: WHITTLE_LLAMA_CPP=/tmp/whittle-llamacpp/llama.cpp /root/venv/bin/python tools/reference/gguf_quantize_reference.py
"""
import json
import os
import subprocess
import sys
import tempfile

import gguf
import numpy as np
from safetensors.numpy import load_file, save_file

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "fixtures", "gguf", "quantize")
LLAMA = os.environ.get("WHITTLE_LLAMA_CPP", "/tmp/whittle-llamacpp/llama.cpp")
QUANTIZE = os.path.join(LLAMA, "build", "bin", "llama-quantize")

BLOCK = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
         "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
         "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
GLOBAL = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
          "lm_head.weight": "output.weight"}


def permute(w, n_head):
    """convert_hf_to_gguf.py LlamaModel.permute: HF rotate-half rows -> llama.cpp interleaved rows."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_name(hf):
    if hf in GLOBAL:
        return GLOBAL[hf]
    parts = hf.split(".")
    return f"blk.{parts[2]}.{BLOCK['.'.join(parts[3:-1])]}.{parts[-1]}"


def write_f32(path, cfg, tensors):
    """An F32 llama GGUF with the hyper-parameters llama-quantize reads (no tokenizer: it does not load one)."""
    w = gguf.GGUFWriter(path, "llama")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_rope_dimension_count(cfg["hidden_size"] // cfg["num_attention_heads"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_vocab_size(cfg["vocab_size"])
    w.add_file_type(0)
    for hf, a in tensors.items():
        a = np.ascontiguousarray(a, dtype=np.float32)
        if hf.endswith("q_proj.weight"):
            a = permute(a, cfg["num_attention_heads"])
        elif hf.endswith("k_proj.weight"):
            a = permute(a, cfg["num_key_value_heads"])
        w.add_tensor(gguf_name(hf), np.ascontiguousarray(a))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def synthetic_value(index, tensor):
    """Element `index` of synthetic tensor number `tensor`: an integer hash to a uniform u in [-0.5, 0.5),
    cubed (heavy tails, like trained weights) and scaled; every step exact or one IEEE float32 operation."""
    h = (index * 2654435761 + tensor * 40503 + 12345) % 2**32
    h ^= h >> 13
    h = (h * 0x5BD1E995) % 2**32
    h ^= h >> 15
    return h >> 8


def synthetic_weights():
    cfg = dict(hidden_size=256, intermediate_size=256, num_hidden_layers=4, num_attention_heads=4,
               num_key_value_heads=2, vocab_size=64, max_position_embeddings=128, rms_norm_eps=1e-5)
    shapes = {"model.embed_tokens.weight": (64, 256), "lm_head.weight": (64, 256), "model.norm.weight": (256,)}
    for l in range(4):
        p = f"model.layers.{l}."
        shapes.update({p + "input_layernorm.weight": (256,), p + "post_attention_layernorm.weight": (256,),
                       p + "self_attn.q_proj.weight": (256, 256), p + "self_attn.k_proj.weight": (128, 256),
                       p + "self_attn.v_proj.weight": (128, 256), p + "self_attn.o_proj.weight": (256, 256),
                       p + "mlp.gate_proj.weight": (256, 256), p + "mlp.up_proj.weight": (256, 256),
                       p + "mlp.down_proj.weight": (256, 256)})
    tensors = {}
    for t, name in enumerate(sorted(shapes)):
        n = int(np.prod(shapes[name]))
        i = np.arange(n, dtype=np.uint64)
        h = (i * np.uint64(2654435761) + np.uint64(t * 40503 + 12345)) % np.uint64(2**32)
        h ^= h >> np.uint64(13)
        h = (h * np.uint64(0x5BD1E995)) % np.uint64(2**32)
        h ^= h >> np.uint64(15)
        assert int(h[min(7, n - 1)] >> np.uint64(8)) == synthetic_value(min(7, n - 1), t)
        u = (h >> np.uint64(8)).astype(np.float32) / np.float32(2**24) - np.float32(0.5)
        if len(shapes[name]) == 1:
            v = np.float32(1) + u * np.float32(0.2)
        else:
            v = (u * u * u) * np.float32(0.4)
        tensors[name] = v.astype(np.float32).reshape(shapes[name])
    return cfg, tensors


def quantize(f32, out, qtype):
    subprocess.run([QUANTIZE, f32, out, qtype, "1"], check=True, stdout=subprocess.DEVNULL)
    print(out, os.path.getsize(out), "bytes")


def main():
    if not os.path.exists(QUANTIZE):
        sys.exit(f"{QUANTIZE} not found: run tools/setup_llamacpp.sh or set WHITTLE_LLAMA_CPP")
    os.makedirs(OUT, exist_ok=True)
    deq = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(ROOT, "fixtures", "models", "shakespeare-llama")
        cfg = json.load(open(os.path.join(folder, "config.json")))
        f32 = os.path.join(tmp, "shakespeare-f32.gguf")
        write_f32(f32, cfg, load_file(os.path.join(folder, "model.safetensors")))
        for q in ["Q8_0", "Q4_0", "Q4_1"]:
            quantize(f32, os.path.join(OUT, f"shakespeare-{q.lower()}.gguf"), q)

        cfg, tensors = synthetic_weights()
        f32 = os.path.join(tmp, "synthetic-f32.gguf")
        write_f32(f32, cfg, tensors)
        quantize(f32, os.path.join(OUT, "synthetic-q4_k_m.gguf"), "Q4_K_M")

    for fixture, names in [("shakespeare-q4_0", ["blk.1.attn_k.weight", "blk.2.ffn_down.weight"]),
                           ("shakespeare-q4_1", ["blk.0.ffn_up.weight"]), ("shakespeare-q8_0", ["token_embd.weight"]),
                           ("synthetic-q4_k_m", ["blk.0.attn_q.weight", "output.weight", "blk.3.ffn_down.weight"])]:
        reader = gguf.GGUFReader(os.path.join(OUT, fixture + ".gguf"))
        for t in reader.tensors:
            if t.name in names:
                deq[f"{fixture}/{t.name}"] = np.ascontiguousarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32)
                print(fixture, t.name, t.tensor_type.name, deq[f"{fixture}/{t.name}"].shape)
    save_file(deq, os.path.join(OUT, "dequantized.safetensors"))


if __name__ == "__main__":
    main()
