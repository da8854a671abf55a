"""Shared setup of the PyTorch peers for `whittle-bench`: the Llama shape arguments and the model."""
import argparse
import torch
from transformers import LlamaConfig, LlamaForCausalLM


def parse_args(hidden, layers, intermediate, vocab, seq, repeats):
    """Shape/thread arguments with per-script defaults; sets torch's thread count."""
    p = argparse.ArgumentParser()
    for name, default in [("hidden", hidden), ("layers", layers), ("heads", 8), ("kv-heads", 8),
                          ("intermediate", intermediate), ("vocab", vocab), ("batch", 4), ("seq", seq),
                          ("threads", 2), ("repeats", repeats)]:
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--attn", default="eager")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    return a


def llama(a):
    """A random-weight LlamaForCausalLM of the given shape (speed does not depend on the weights)."""
    config = LlamaConfig(hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads,
                         num_key_value_heads=a.kv_heads, intermediate_size=a.intermediate, vocab_size=a.vocab,
                         max_position_embeddings=2048, tie_word_embeddings=False)
    config._attn_implementation = a.attn
    return LlamaForCausalLM(config)
