"""Reference logits for the int8 pass with "lm_head" in targets (Passes/Quantization/HeadUntying.swift).

Loads the folder QuantizedHeadTests writes ($TMPDIR/whittle-quant-int8-head: stories260K, the tied head
untied and quantized to int8 beside the f32 token table) with stock transformers + compressed-tensors,
checks that transformers built the head as a quantized module (not tied to the table), and writes its
logits on the same 16 ids as quant_checkpoints.py, beside those of the plain int8 folder (head in f32)
when it exists, to fixtures/quant/int8_head_reference.safetensors.
Run: swift test --filter QuantizedHeadTests (and QuantizationPassTests for the plain folder);
     /root/venv/bin/python tools/reference/quant_head_reference.py
"""
import json, os, tempfile
import torch, transformers, compressed_tensors
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "fixtures", "quant", "int8_head_reference.safetensors")
IDS = [1, 403, 407, 261, 378, 296, 263, 1, 15, 400, 320, 501, 2, 87, 300, 42]


def load(kind):
    folder = os.path.join(tempfile.gettempdir(), f"whittle-quant-{kind}")
    if not os.path.isdir(folder):
        raise SystemExit(f"missing {folder}: run the Swift tests first")
    model = AutoModelForCausalLM.from_pretrained(folder)
    with torch.no_grad():
        logits = model(torch.tensor([IDS])).logits[0].float().contiguous()
    return model, logits


def main():
    head_model, head_logits = load("int8-head")
    scheme = getattr(head_model.lm_head, "quantization_scheme", None)
    assert scheme is not None, "transformers did not quantize lm_head"
    assert head_model.lm_head.weight.data_ptr() != head_model.model.embed_tokens.weight.data_ptr(), "lm_head is still tied"
    tensors = {"ids": torch.tensor(IDS, dtype=torch.float32), "int8_head.logits": head_logits}
    meta = {"generator": "tools/reference/quant_head_reference.py", "torch": torch.__version__,
            "transformers": transformers.__version__, "compressed_tensors": compressed_tensors.__version__,
            "ids": IDS, "lm_head_input_activations": scheme.input_activations.model_dump(mode="json"),
            "lm_head_weights": scheme.weights.model_dump(mode="json")}
    _, plain = load("int8")
    tensors["int8.logits"] = plain
    meta["head_effect_relative"] = float((head_logits - plain).norm() / plain.norm())
    save_file(tensors, OUT, metadata={"meta": json.dumps(meta)})
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
