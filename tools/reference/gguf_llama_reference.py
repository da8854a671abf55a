#!/usr/bin/env python3
"""Writes a tiny random Llama as GGUF files the way llama.cpp's converter does, and records the logits
transformers' own GGUF loader computes from each file.

  fixtures/gguf/llama-tiny/f32.gguf         every tensor F32, untied lm_head (`output.weight`)
  fixtures/gguf/llama-tiny/q8_0.gguf        2-D weights Q8_0 (norms F32), untied
  fixtures/gguf/llama-tiny/tied-f32.gguf    F32 with no `output.weight` (tied embeddings)
  fixtures/gguf/llama-tiny/qwen2-q8_0.gguf  a tiny Qwen2 (q/k/v biases, architecture `qwen2`: rows not permuted), Q8_0
  fixtures/gguf/llama-tiny/reference.safetensors
      ids [T] (I64); logits_<variant> [T, V] F32: transformers' LlamaForCausalLM loaded with
      from_pretrained(dir, gguf_file=...) (it undoes the Q/K permutation itself) on `ids`

Tensor names follow llama.cpp (`blk.N.attn_q.weight`, …) and q/k rows are permuted as
convert_hf_to_gguf.py's `LlamaModel.permute` defines it: rows grouped per head (kv heads for k), each
head's [2, head_dim/2] halves interleaved to [head_dim/2, 2] (llama.cpp's rotary pairs adjacent
dimensions; Hugging Face's rotate_half pairs i with i + head_dim/2).
ModelsTests/GGUFModelTests compares our logits from each .gguf with these at 1e-4.
Run: /root/venv/bin/python tools/reference/gguf_llama_reference.py
"""
import os

import gguf
import numpy as np
import torch
from gguf import GGMLQuantizationType as T
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "gguf", "llama-tiny"))
THETA = 10000.0
IDS = [1, 17, 5, 94, 33, 0, 61, 8, 42, 77, 3, 50]


def permute(w, n_head):
    """HF rotate-half row order -> llama.cpp interleaved order, per head (the converter's permute)."""
    d = w.shape[0] // n_head // 2
    return w.reshape(n_head, 2, d, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def gguf_tensors(model, cfg, permutes):
    """(llama.cpp name, numpy f32 array in PyTorch order) for every weight; llama.cpp's converter
    permutes q/k for `llama` only (`qwen2` runs NeoX-style rotary on Hugging Face's order)."""
    qk = permute if permutes else (lambda w, n: w)
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    yield "token_embd.weight", sd["model.embed_tokens.weight"]
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        yield f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"]
        yield f"blk.{i}.attn_q.weight", qk(sd[p + "self_attn.q_proj.weight"], cfg.num_attention_heads)
        yield f"blk.{i}.attn_k.weight", qk(sd[p + "self_attn.k_proj.weight"], cfg.num_key_value_heads)
        yield f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"]
        for proj, heads in [("q", cfg.num_attention_heads), ("k", cfg.num_key_value_heads), ("v", None)]:
            if p + f"self_attn.{proj}_proj.bias" in sd:
                b = sd[p + f"self_attn.{proj}_proj.bias"]
                yield f"blk.{i}.attn_{proj}.bias", qk(b, heads) if heads else b
        yield f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"]
        yield f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"]
        yield f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"]
        yield f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"]
        yield f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"]
    yield "output_norm.weight", sd["model.norm.weight"]
    if not cfg.tie_word_embeddings:
        yield "output.weight", sd["lm_head.weight"]


def write_gguf(path, model, cfg, qtype, arch):
    w = gguf.GGUFWriter(path, arch)
    w.add_name("llama-tiny")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    w.add_rope_freq_base(THETA)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(cfg.vocab_size)
    for name, a in gguf_tensors(model, cfg, permutes=arch == "llama"):
        if qtype == T.F32 or a.ndim == 1:
            w.add_tensor(name, np.ascontiguousarray(a, dtype=np.float32))
        else:
            w.add_tensor(name, gguf.quants.quantize(np.ascontiguousarray(a, dtype=np.float32), qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    out = {"ids": torch.tensor(IDS, dtype=torch.int64)}
    for variant, qtype, tied in [("f32", T.F32, False), ("q8_0", T.Q8_0, False), ("tied-f32", T.F32, True),
                                 ("qwen2-q8_0", T.Q8_0, True)]:
        torch.manual_seed(0)
        arch = "qwen2" if variant.startswith("qwen2") else "llama"
        Config, Model = (Qwen2Config, Qwen2ForCausalLM) if arch == "qwen2" else (LlamaConfig, LlamaForCausalLM)
        cfg = Config(vocab_size=96, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                          rms_norm_eps=1e-5, rope_theta=THETA, tie_word_embeddings=tied)
        model = Model(cfg).eval()
        with torch.no_grad():   # non-trivial norms and biases so a wrong mapping shows
            for n, p in model.named_parameters():
                if n.endswith("norm.weight"):
                    p.copy_(1.0 + 0.2 * torch.randn_like(p))
                if n.endswith("bias"):
                    p.copy_(0.1 * torch.randn_like(p))
        fname = f"{variant}.gguf"
        write_gguf(os.path.join(OUT, fname), model, cfg, qtype, arch)
        loaded = Model.from_pretrained(OUT, gguf_file=fname, dtype=torch.float32).eval()
        assert loaded.config.tie_word_embeddings == tied, loaded.config
        with torch.no_grad():
            logits = loaded(torch.tensor([IDS])).logits[0].float()
            if qtype == T.F32:   # the GGUF round trip is exact for F32: same function as the source model
                assert torch.allclose(logits, model(torch.tensor([IDS])).logits[0], atol=1e-5)
        out[f"logits_{variant.replace('-', '_')}"] = logits.contiguous()
        print(variant, tuple(logits.shape), os.path.getsize(os.path.join(OUT, fname)), "bytes")
    save_file(out, os.path.join(OUT, "reference.safetensors"))


if __name__ == "__main__":
    main()
