"""Reference for the nf4 pass with "lm_head" in targets (Passes/Quantization/HeadUntying.swift).

Two independent sides, both stock transformers + bitsandbytes on stories260K (tied head):
1. Our folder: NF4HeadTests writes $TMPDIR/whittle-quant-nf4-head (the tied head untied, NF4 beside the
   f32 token table, llm_int8_skip_modules []). transformers must build lm_head as a bitsandbytes
   Linear4bit (not the f32 table): its logits on the 16 ids of quant_checkpoints.py -> "nf4_head.logits".
2. bitsandbytes' own quantization of the untied head: stories260K with lm_head a copy of the table
   (tie_word_embeddings false), loaded with BitsAndBytesConfig(load_in_4bit, nf4, double quant, float32,
   llm_int8_skip_modules=[]) and saved: its lm_head tensors ("bnb.lm_head.weight", ".absmax", ...), the
   skip list it saves, and its logits ("bnb_head.logits").
3. The module transformers builds for a tied head kept in f32 under null / non-null skip lists (meta).
Writes fixtures/quant/nf4_head_reference.safetensors.
Run: swift test --filter NF4HeadTests; /root/venv/bin/python tools/reference/quant_nf4_head_reference.py
"""
import json, os, tempfile
import torch, transformers, bitsandbytes
from safetensors.torch import save_file, load_file
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODEL = os.path.join(ROOT, "fixtures", "models", "stories260K")
OUT = os.path.join(ROOT, "fixtures", "quant", "nf4_head_reference.safetensors")
from quant_checkpoints import IDS, logits  # bitsandbytes on CPU, as the other quantization references run it


def check_head(model, where):
    assert isinstance(model.lm_head, bitsandbytes.nn.Linear4bit), f"{where}: lm_head is {type(model.lm_head).__name__}"
    assert model.lm_head.weight.quant_state.quant_type == "nf4", where
    assert not model.config.tie_word_embeddings, where
    assert model.model.embed_tokens.weight.dtype == torch.float32, where
    return type(model.lm_head).__name__


def bnb_own(meta, tensors):
    untied = tempfile.mkdtemp()
    m = AutoModelForCausalLM.from_pretrained(MODEL)
    m.config.tie_word_embeddings = False
    m.lm_head.weight = torch.nn.Parameter(m.model.embed_tokens.weight.detach().clone())
    m.save_pretrained(untied)
    cfg = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                             bnb_4bit_compute_dtype=torch.float32, llm_int8_skip_modules=[])
    q = AutoModelForCausalLM.from_pretrained(untied, quantization_config=cfg)
    meta["bnb_lm_head_module"] = check_head(q, "bitsandbytes' own")
    saved = tempfile.mkdtemp()
    q.save_pretrained(saved)
    with open(os.path.join(saved, "config.json")) as f:
        meta["bnb_llm_int8_skip_modules"] = json.load(f)["quantization_config"]["llm_int8_skip_modules"]
    for name, t in load_file(os.path.join(saved, "model.safetensors")).items():
        if name.startswith("lm_head.weight"):
            tensors["bnb." + name] = t.contiguous()
    tensors["bnb_head.logits"] = logits(q)


def tied_head_with_a_skip_list(meta):
    """What NF4HeadTests' skip-list test guards against: on a tied model, a non-null llm_int8_skip_modules
    without "lm_head" turns off transformers' default skips and bitsandbytes quantizes the head."""
    for skip in [None, ["model.layers.0.mlp.down_proj"], ["model.layers.0.mlp.down_proj", "lm_head"]]:
        cfg = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                 bnb_4bit_compute_dtype=torch.float32, llm_int8_skip_modules=skip)
        m = AutoModelForCausalLM.from_pretrained(MODEL, quantization_config=cfg)
        meta.setdefault("tied_head_module_by_skip_list", []).append([skip, type(m.lm_head).__name__])
    assert [t for _, t in meta["tied_head_module_by_skip_list"]] == ["Linear", "Linear4bit", "Linear"], meta


def main():
    meta = {"generator": "tools/reference/quant_nf4_head_reference.py", "torch": torch.__version__,
            "transformers": transformers.__version__, "bitsandbytes": bitsandbytes.__version__, "ids": IDS}
    tensors = {"ids": torch.tensor(IDS, dtype=torch.float32)}
    folder = os.path.join(tempfile.gettempdir(), "whittle-quant-nf4-head")
    if not os.path.isdir(folder):
        raise SystemExit(f"missing {folder}: run swift test --filter NF4HeadTests first")
    ours = AutoModelForCausalLM.from_pretrained(folder)
    meta["ours_lm_head_module"] = check_head(ours, folder)
    tensors["nf4_head.logits"] = logits(ours)
    bnb_own(meta, tensors)
    tied_head_with_a_skip_list(meta)
    meta["ours_vs_bnb_own_relative"] = float((tensors["nf4_head.logits"] - tensors["bnb_head.logits"]).norm()
                                             / tensors["bnb_head.logits"].norm())
    save_file(tensors, OUT, metadata={"meta": json.dumps(meta)})
    print(json.dumps(meta, indent=1))
    print(sorted(tensors))


if __name__ == "__main__":
    main()
