"""GPT-2 reference for the nf4 / int8 passes: bitsandbytes quantizes GPT-2's Conv1D projections
(weights stored [in, out]) as the transposed [out, in] matrix, the layout of an nn.Linear.

fixtures/quant/gpt2-bnb-nf4/: the tiny random GPT-2 of fixtures/models-reference/gpt2 quantized and
saved by transformers + bitsandbytes (load_in_4bit, nf4, double quant, compute float32), and
`reference.safetensors` with its logits on IDS (and the float32 model's).
Run: /root/venv/bin/python tools/reference/quant_gpt2.py
"""
import json, os, shutil, tempfile
import torch, transformers, bitsandbytes
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODEL = os.path.join(ROOT, "fixtures", "models-reference", "gpt2")
OUT = os.path.join(ROOT, "fixtures", "quant", "gpt2-bnb-nf4")
IDS = [1, 5, 9, 3, 7, 2, 8, 63, 0, 17, 41, 12]


def logits(model):
    for mod in model.modules():   # bnb's AVX512-BF16 repack needs out_features % 32 == 0; use the generic path
        if hasattr(mod, "support_avx512bf16_for_cpu"):
            mod.support_avx512bf16_for_cpu = False
    with torch.no_grad():
        return model(torch.tensor([IDS])).logits[0].float().contiguous()


def main():
    cfg = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                             bnb_4bit_compute_dtype=torch.float32)
    quantized = AutoModelForCausalLM.from_pretrained(MODEL, quantization_config=cfg)
    tmp = tempfile.mkdtemp()
    quantized.save_pretrained(tmp)
    os.makedirs(OUT, exist_ok=True)
    for f in ["model.safetensors", "config.json"]:
        shutil.copy(os.path.join(tmp, f), os.path.join(OUT, f))
    meta = {"generator": "tools/reference/quant_gpt2.py", "torch": torch.__version__,
            "transformers": transformers.__version__, "bitsandbytes": bitsandbytes.__version__, "ids": IDS}
    save_file({"ids": torch.tensor(IDS, dtype=torch.float32), "bnb.logits": logits(quantized),
               "fp32.logits": logits(AutoModelForCausalLM.from_pretrained(MODEL))},
              os.path.join(OUT, "reference.safetensors"), metadata={"meta": json.dumps(meta)})


if __name__ == "__main__":
    main()
