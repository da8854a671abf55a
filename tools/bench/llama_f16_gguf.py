"""Writes an F16 GGUF of a Hugging Face Llama folder that has no tokenizer (the random-weight 0.84 B
checkpoint of `whittle-bench prefill` / `quant-eval`), for `llama-bench`.

llama.cpp's `convert_hf_to_gguf.py` needs a tokenizer whose size fits `vocab_size`; the bench shape
has 32,000 tokens and no tokenizer, so this writes the same tensors the converter would (q/k rows
permuted to GGML's rotary layout as its `LlamaModel.permute` does, 2-D weights in F16, norms in F32)
with a placeholder SentencePiece vocabulary of `vocab_size` tokens (<unk> <s> </s>, the 256 byte
tokens, then "▁tN"). llama-bench feeds random ids and never decodes, so the vocabulary only has to load.

Run: PYTHONPATH=/tmp/whittle-llamacpp/llama.cpp/gguf-py /root/venv/bin/python tools/bench/llama_f16_gguf.py FOLDER OUT.gguf
"""
import json, sys
import numpy as np
from safetensors import safe_open
import gguf

folder, out = sys.argv[1], sys.argv[2]
cfg = json.load(open(f"{folder}/config.json"))
c, heads, kv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
layers, vocab = cfg["num_hidden_layers"], cfg["vocab_size"]


def permute(w, n_head):
    """HF rotate-half rows → GGML interleaved pairs (convert_hf_to_gguf.py LlamaModel.permute)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


w = gguf.GGUFWriter(out, "llama")
w.add_context_length(cfg.get("max_position_embeddings", 2048))
w.add_embedding_length(c)
w.add_block_count(layers)
w.add_feed_forward_length(cfg["intermediate_size"])
w.add_head_count(heads)
w.add_head_count_kv(kv)
w.add_rope_dimension_count(c // heads)
w.add_rope_freq_base(cfg.get("rope_theta", 10000.0))
w.add_layer_norm_rms_eps(cfg.get("rms_norm_eps", 1e-5))
w.add_vocab_size(vocab)
w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
tokens += [f"\u2581t{i}" for i in range(vocab - len(tokens))]
types += [gguf.TokenType.NORMAL] * (vocab - len(types))
w.add_tokenizer_model("llama")
w.add_token_list(tokens)
w.add_token_scores([0.0] * vocab)
w.add_token_types(types)
w.add_bos_token_id(1)
w.add_eos_token_id(2)

names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
         "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
         "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
with safe_open(f"{folder}/model.safetensors", framework="numpy") as f:
    def put(name, t):
        w.add_tensor(name, t.astype(np.float32 if t.ndim == 1 else np.float16))
    put("token_embd.weight", f.get_tensor("model.embed_tokens.weight"))
    put("output_norm.weight", f.get_tensor("model.norm.weight"))
    put("output.weight", f.get_tensor("lm_head.weight" if "lm_head.weight" in f.keys() else "model.embed_tokens.weight"))
    for i in range(layers):
        for hf, g in names.items():
            t = f.get_tensor(f"model.layers.{i}.{hf}.weight")
            if g == "attn_q":
                t = permute(t, heads)
            elif g == "attn_k":
                t = permute(t, kv)
            put(f"blk.{i}.{g}.weight", t)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print(json.dumps({"gguf": out}))
