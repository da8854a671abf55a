"""References for the static W8A8 scheme of the int8 pass (ALGORITHMS.md §3.5, issue 14).

1. fixtures/quant/observers_torch_ao.json: torch.ao's own asymmetric per-tensor quint8 machinery on
   the batches of fixtures/quant/observers_reference.json — MovingAverageMinMaxObserver
   (averaging_constant 0.1 = momentum 0.9) range after each batch, its calculate_qparams (scale,
   zero point), and torch.fake_quantize_per_tensor_affine of the sample with them.
2. fixtures/quant/int8_static_quantization_config.json: the quantization_config compressed-tensors
   writes for that scheme (int weights symmetric per tensor, input activations asymmetric per tensor, static).
3. fixtures/quant/static_checkpoint_reference.safetensors: logits of OUR static int8 output
   (written by `swift test --filter QuantizationStaticTests` into $TMPDIR/whittle-quant-int8-static)
   loaded by stock transformers + compressed-tensors, the float model's logits, and which modules
   carried static input scales — the loader check CI cannot run.
Run: swift test --filter QuantizationStaticTests; /root/venv/bin/python tools/reference/quant_static.py
"""
import json, os, tempfile
import torch, transformers, compressed_tensors
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "fixtures", "quant")
MODEL = os.path.join(ROOT, "fixtures", "models", "stories260K")
IDS = [1, 403, 407, 261, 378, 296, 263, 1, 15, 400, 320, 501, 2, 87, 300, 42]


def torch_ao():
    from torch.ao.quantization.observer import MovingAverageMinMaxObserver
    ref = json.load(open(os.path.join(FIX, "observers_reference.json")))
    obs = MovingAverageMinMaxObserver(averaging_constant=0.1, dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    history, qparams = [], []
    for b in ref["batches"]:
        obs(torch.tensor(b, dtype=torch.float32))
        history.append([float(obs.min_val), float(obs.max_val)])
        s, z = obs.calculate_qparams()
        qparams.append([float(s), int(z)])
    sample = torch.tensor(ref["sample"], dtype=torch.float32)
    s, z = obs.calculate_qparams()
    fq = torch.fake_quantize_per_tensor_affine(sample, float(s), int(z), 0, 255)
    out = {"meta": {"generator": "tools/reference/quant_static.py", "torch": torch.__version__,
                    "observer": "MovingAverageMinMaxObserver(averaging_constant=0.1, quint8, per_tensor_affine)"},
           "minmax": history, "qparams": qparams, "fake_quant_sample": fq.tolist()}
    with open(os.path.join(FIX, "observers_torch_ao.json"), "w") as f:
        json.dump(out, f)


def static_config():
    """The quantization_config compressed-tensors writes for the static scheme (ModelCompressor.update_config's form)."""
    from compressed_tensors.quantization import QuantizationArgs, QuantizationConfig, QuantizationScheme
    w = QuantizationArgs(num_bits=8, type="int", symmetric=True, strategy="tensor", dynamic=False)
    a = QuantizationArgs(num_bits=8, type="int", symmetric=False, strategy="tensor", dynamic=False)
    qc = QuantizationConfig(config_groups={"group_0": QuantizationScheme(targets=["Linear"], weights=w, input_activations=a)},
                            ignore=["lm_head"], format="int-quantized", quantization_status="compressed")
    d = {"version": compressed_tensors.__version__, "quant_method": "compressed-tensors",
         "sparsity_config": {}, "transform_config": {}, **qc.model_dump(exclude=["quant_method"], mode="json")}
    with open(os.path.join(FIX, "int8_static_quantization_config.json"), "w") as f:
        json.dump(d, f, indent=2, sort_keys=True)


def logits(model):
    with torch.no_grad():
        return model(torch.tensor([IDS])).logits[0].float().contiguous()


def checkpoint():
    folder = os.path.join(tempfile.gettempdir(), "whittle-quant-int8-static")
    if not os.path.isdir(folder):
        print("missing", folder, "- run the Swift tests first"); return
    fp32 = logits(AutoModelForCausalLM.from_pretrained(MODEL))
    m = AutoModelForCausalLM.from_pretrained(folder)
    static = sorted(n for n, mod in m.named_modules() if hasattr(mod, "input_scale") and hasattr(mod, "input_zero_point"))
    q = m.model.layers[0].self_attn.q_proj
    meta = {"generator": "tools/reference/quant_static.py", "torch": torch.__version__, "transformers": transformers.__version__,
            "compressed_tensors": compressed_tensors.__version__, "ids": IDS, "static_modules": len(static),
            "layer0_q_proj": {"input_scale": float(q.input_scale), "input_zero_point": int(q.input_zero_point),
                              "weight_scale": float(q.weight_scale.flatten()[0]),
                              "quantization_scheme": str(getattr(q, "quantization_scheme", None))}}
    l = logits(m)
    meta["max_abs_diff_vs_fp32"] = float((l - fp32).abs().max())
    save_file({"ids": torch.tensor(IDS, dtype=torch.float32), "fp32.logits": fp32, "static.logits": l},
              os.path.join(FIX, "static_checkpoint_reference.safetensors"), metadata={"meta": json.dumps(meta)})
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    torch_ao()
    static_config()
    checkpoint()
