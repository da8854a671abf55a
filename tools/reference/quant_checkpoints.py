"""Reference checkpoints and logits for the nf4 / int8 passes (ALGORITHMS.md §5, DESIGN.md §4).

1. fixtures/quant/stories260K-bnb-nf4/: stories260K quantized and saved by transformers +
   bitsandbytes (load_in_4bit, nf4, double quant, compute float32) — the layout our pass must write.
2. fixtures/quant/int8_quantization_config.json: the W8A8 int-quantized quantization_config that
   compressed-tensors' ModelCompressor.update_config writes (preset "W8A8", ignore ["lm_head"]).
3. fixtures/quant/checkpoint_reference.safetensors: logits of OUR outputs (written by
   `swift test --filter QuantizationPassTests` into $TMPDIR/whittle-quant-{nf4,int8}) loaded by stock
   transformers (bitsandbytes / compressed-tensors) — the loader check CI cannot run.
Run: swift test --filter QuantizationPassTests; /root/venv/bin/python tools/reference/quant_checkpoints.py
"""
import json, os, shutil, tempfile
import torch, transformers, bitsandbytes, compressed_tensors
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "fixtures", "quant")
MODEL = os.path.join(ROOT, "fixtures", "models", "stories260K")
IDS = [1, 403, 407, 261, 378, 296, 263, 1, 15, 400, 320, 501, 2, 87, 300, 42]


def logits(model):
    # bitsandbytes 0.50 repacks 4-bit weights for its AVX512-BF16 CPU kernel, which asserts
    # out_features % 32 == 0 (stories260K's 172-wide MLP fails, even for bnb's own quantization);
    # use its generic dequantize-then-matmul path instead.
    for mod in model.modules():
        if hasattr(mod, "support_avx512bf16_for_cpu"):
            mod.support_avx512bf16_for_cpu = False
    with torch.no_grad():
        return model(torch.tensor([IDS])).logits[0].float().contiguous()


def bnb_reference():
    cfg = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                             bnb_4bit_compute_dtype=torch.float32)
    m = AutoModelForCausalLM.from_pretrained(MODEL, quantization_config=cfg)
    tmp = tempfile.mkdtemp()
    m.save_pretrained(tmp)
    out = os.path.join(FIX, "stories260K-bnb-nf4")
    os.makedirs(out, exist_ok=True)
    for f in ["model.safetensors", "config.json"]:
        shutil.copy(os.path.join(tmp, f), os.path.join(out, f))
    return logits(m)


def int8_config():
    from compressed_tensors.quantization import QuantizationConfig, preset_name_to_scheme
    qc = QuantizationConfig(config_groups={"group_0": preset_name_to_scheme("W8A8", ["Linear"])},
                            ignore=["lm_head"], format="int-quantized", quantization_status="compressed")
    # as ModelCompressor.update_config writes it
    d = {"version": compressed_tensors.__version__, "quant_method": "compressed-tensors",
         "sparsity_config": {}, "transform_config": {}, **qc.model_dump(exclude=["quant_method"], mode="json")}
    with open(os.path.join(FIX, "int8_quantization_config.json"), "w") as f:
        json.dump(d, f, indent=2, sort_keys=True)


def main():
    meta = {"generator": "tools/reference/quant_checkpoints.py", "torch": torch.__version__,
            "transformers": transformers.__version__, "bitsandbytes": bitsandbytes.__version__,
            "compressed_tensors": compressed_tensors.__version__, "ids": IDS}
    tensors = {"ids": torch.tensor(IDS, dtype=torch.float32)}
    bnb_own = bnb_reference()
    int8_config()
    fp32 = logits(AutoModelForCausalLM.from_pretrained(MODEL))
    tensors["fp32.logits"] = fp32
    tensors["bnb_own.logits"] = bnb_own
    for kind in ["nf4", "int8"]:
        folder = os.path.join(tempfile.gettempdir(), f"whittle-quant-{kind}")
        if not os.path.isdir(folder):
            print("missing", folder, "- run the Swift tests first"); continue
        m = AutoModelForCausalLM.from_pretrained(folder)
        names = {type(mod).__name__ for mod in m.modules()}
        l = logits(m)
        tensors[f"{kind}.logits"] = l
        meta[f"{kind}_loaded_modules"] = sorted(n for n in names if "Linear" in n)
        meta[f"{kind}_max_abs_diff_vs_fp32"] = float((l - fp32).abs().max())
        if kind == "nf4":
            meta["nf4_max_abs_diff_vs_bnb_own_quantization"] = float((l - bnb_own).abs().max())
    save_file(tensors, os.path.join(FIX, "checkpoint_reference.safetensors"), metadata={"meta": json.dumps(meta)})
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
