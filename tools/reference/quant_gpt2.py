"""GPT-2 reference for the nf4 / int8 passes: bitsandbytes quantizes GPT-2's Conv1D projections
(weights stored [in, out]) as the transposed [out, in] matrix, the layout of an nn.Linear.

fixtures/quant/gpt2-bnb-nf4/: the tiny random GPT-2 of fixtures/models-reference/gpt2 quantized and
saved by transformers + bitsandbytes (load_in_4bit, nf4, double quant, compute float32), and
`reference.safetensors` with its logits on IDS (and the float32 model's).

bitsandbytes 0.50's CPU dequantize_4bit takes blocks row by row, which is wrong when a row is not a
whole number of blocks (this model's 32-wide rows: ~22 % weight error instead of ~9 %, for its own
quantization too). The reference logits therefore run the float32 model on the weights that
bitsandbytes' dequantize_4bit gives for the flat tensor (the format's definition; its CUDA path).
Run: /root/venv/bin/python tools/reference/quant_gpt2.py
"""
import copy, json, os, shutil, tempfile
import torch, transformers, bitsandbytes
from safetensors.torch import save_file
import bitsandbytes.functional as F
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MODEL = os.path.join(ROOT, "fixtures", "models-reference", "gpt2")
OUT = os.path.join(ROOT, "fixtures", "quant", "gpt2-bnb-nf4")
IDS = [1, 5, 9, 3, 7, 2, 8, 63, 0, 17, 41, 12]


def logits(model):
    with torch.no_grad():
        return model(torch.tensor([IDS])).logits[0].float().contiguous()


def flat_dequantized_model(quantized):
    """The float32 model with each Conv1D weight set to bitsandbytes' flat dequantization of the
    quantized [out, in] weight, transposed back to Conv1D's [in, out]."""
    model = AutoModelForCausalLM.from_pretrained(MODEL)
    for name, mod in quantized.named_modules():
        if type(mod).__name__ != "Linear4bit":
            continue
        state = copy.deepcopy(mod.weight.quant_state)
        shape, state.shape = state.shape, torch.Size([state.shape.numel()])
        weight = F.dequantize_4bit(mod.weight.data.flatten(), state).reshape(shape)
        model.get_submodule(name).weight.data = weight.t().contiguous()
    return model


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
    save_file({"ids": torch.tensor(IDS, dtype=torch.float32), "bnb.logits": logits(flat_dequantized_model(quantized)),
               "fp32.logits": logits(AutoModelForCausalLM.from_pretrained(MODEL))},
              os.path.join(OUT, "reference.safetensors"), metadata={"meta": json.dumps(meta)})


if __name__ == "__main__":
    main()
