"""Reference fixtures for KV-cache generation and sliding-window attention (issues 16, 19, 20).

1. Greedy continuations by transformers' `generate(do_sample=False)` (its own KV cache) of the tiny
   decoder fixtures in fixtures/models-reference (written by models_reference.py), one prompt at a
   time, seeded prompts of several lengths -> fixtures/generation/generate_reference.json.
2. Sliding-window attention: the tiny Mistral with `sliding_window` 5 and the tiny Qwen2 with
   `use_sliding_window` (window 5 in layer 1 only, `max_window_layers` 1), saved as checkpoint
   folders fixtures/generation/<case>/, with eager-attention logits of a 2 x 20 input (window shorter
   than the input) -> <case>/reference.safetensors, and greedy continuations through the window (in
   generate_reference.json beside the others).

Run: /root/venv/bin/python tools/reference/generation_reference.py
"""
import json, os, shutil
import torch, transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODELS = os.path.join(ROOT, "fixtures", "models-reference")
OUT = os.path.join(ROOT, "fixtures", "generation")
META = {"generator": "tools/reference/generation_reference.py", "torch": torch.__version__,
        "transformers": transformers.__version__}
# (case, prompt lengths, max_new_tokens): GPT-2's position table has 16 rows, so prompt + new <= 16.
CASES = [("llama_gqa", [1, 4, 11], 12), ("llama_mha_tied", [1, 4, 11], 12), ("llama_mqa_bias", [1, 4, 11], 12),
         ("llama_rope_linear", [2, 6], 12), ("llama_rope_llama3", [2, 6], 12), ("qwen2_bias_tied", [1, 4, 11], 12),
         ("mistral_window", [1, 4, 11], 12), ("gpt2", [1, 4, 7], 9),
         # Dynamic NTK (max_position_embeddings 8): the base grows with the length seen so far, and
         # cached keys keep the rotation they were stored with.
         ("llama_rope_dynamic", [2, 6], 12)]


def prompts(lengths, vocab, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, vocab, (n,), generator=g).tolist() for n in lengths]


def generate(model, ps, new):
    out = []
    with torch.no_grad():
        for p in ps:
            # An explicit mask: otherwise generate treats prompt tokens equal to pad_token_id as padding.
            x = torch.tensor([p])
            ids = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=new, do_sample=False,
                                 eos_token_id=None, pad_token_id=0, use_cache=True)
            out.append(ids[0, len(p):].tolist())
    return out


def generation_cases():
    cases = {}
    for i, (name, lengths, new) in enumerate(CASES):
        model = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, name), attn_implementation="eager",
                                                     dtype=torch.float32).eval()
        ps = prompts(lengths, model.config.vocab_size, seed=100 + i)
        cases[name] = {"folder": f"models-reference/{name}", "prompts": ps, "max_new_tokens": new,
                       "generated": generate(model, ps, new)}
    return cases


def window_case(name, config_cls, model_cls, source, **overrides):
    base = AutoModelForCausalLM.from_pretrained(os.path.join(MODELS, source), dtype=torch.float32)
    cfg = config_cls(**{**base.config.to_dict(), **overrides})
    cfg._attn_implementation = "eager"
    model = model_cls(cfg).eval()
    model.load_state_dict(base.state_dict())
    folder = os.path.join(OUT, name)
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder)
    gen = os.path.join(folder, "generation_config.json")
    if os.path.exists(gen):
        os.remove(gen)
    g = torch.Generator().manual_seed(7)
    x = torch.randint(0, cfg.vocab_size, (2, 20), generator=g)
    with torch.no_grad():
        logits = model(input_ids=x).logits
    save_file({"input_ids": x.to(torch.int32), "output": logits.contiguous()}, os.path.join(folder, "reference.safetensors"),
              metadata=dict(META, case=name, layer_types=json.dumps(getattr(cfg, "layer_types", None)),
                            sliding_window=str(cfg.sliding_window)))
    # Greedy continuations through the window (generate's own sliding-window cache).
    ps = prompts([3, 8], cfg.vocab_size, seed=8)
    return {"folder": f"generation/{name}", "prompts": ps, "max_new_tokens": 20, "generated": generate(model, ps, 20)}


if __name__ == "__main__":
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    cases = generation_cases()
    cases["mistral_window5"] = window_case("mistral_window5", MistralConfig, MistralForCausalLM, "mistral_window", sliding_window=5)
    cases["qwen2_window5"] = window_case("qwen2_window5", Qwen2Config, Qwen2ForCausalLM, "qwen2_bias_tied", use_sliding_window=True,
                                         sliding_window=5, max_window_layers=1, layer_types=None)
    with open(os.path.join(OUT, "generate_reference.json"), "w") as f:
        json.dump({"meta": dict(META, do_sample=False, eos=None, use_cache=True), "cases": cases}, f, indent=1)
    print("wrote", OUT)
