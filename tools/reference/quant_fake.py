"""PyTorch reference for the QAT fake quantizers of Kernels/Quantization/Quantizer.swift, written from
the formulas of ALGORITHMS.md §4.1 (TI / TernaryBERT `utils_quant.py`) and the compressed-tensors int8
convention, with torch ops: fixtures/quant/fake_quant_reference.json.
  clip:        x_c = clamp(x, -clip, clip); backward zeroes the gradient where x >= clip or x <= -clip
  twn:         delta = 0.7 * mean|x_c|, alpha = mean(|x_c| where |x_c| > delta), out = alpha*sign(x_c)*[|x_c| > delta]
               (layer-wise: over the tensor; row-wise: per row)
  symmetric:   s = (2^(b-1) - 1) / max|x_c| (tensor or row), out = round(x_c * s) / s        (TI's form)
  int8 token:  scale = absmax/127.5 per row, out = clamp(round(x/scale), -128, 127) * scale
torch.round is half-to-even. Float32 throughout (sums too), so Swift's Double sums and x/scale may
differ from these in the last bit; the test compares within 1e-6.
Run: /root/venv/bin/python tools/reference/quant_fake.py
"""
import json, os
import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "quant", "fake_quant_reference.json")
CLIP = 2.5


class STE(torch.autograd.Function):
    """Forward: a quantizer of the clipped input; backward: TI's clipped straight-through gradient."""
    @staticmethod
    def forward(ctx, x, fn):
        ctx.save_for_backward(x)
        return fn(torch.clamp(x, -CLIP, CLIP))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        g = g.clone()
        g[x.ge(CLIP)] = 0
        g[x.le(-CLIP)] = 0
        return g, None


def twn(x, rowwise):
    a = x.abs()
    m = a.mean(dim=1, keepdim=True) if rowwise else a.mean()
    delta = 0.7 * m
    mask = (a > delta).float()
    alpha = (a * mask).sum(dim=1, keepdim=True) / mask.sum(dim=1, keepdim=True) if rowwise else (a * mask).sum() / mask.sum()
    return alpha * (x > delta).float() - alpha * (x < -delta).float()


def sym(x, bits, rowwise):
    m = x.abs().amax(dim=1, keepdim=True) if rowwise else x.abs().max()
    s = (2 ** (bits - 1) - 1) / m
    return torch.round(x * s) / s


def int8_token(x):
    scale = x.abs().amax(dim=1, keepdim=True) / 127.5
    return torch.clamp(torch.round(x / scale), -128, 127) * scale


def main():
    g = torch.Generator().manual_seed(0)
    rows, cols = 6, 40
    x = torch.randn(rows, cols, generator=g) * 1.3
    x[0, :5] = torch.tensor([2.5, -2.5, 0.0, 3.75, -4.0])
    x[2, 7] = 0.0
    dout = torch.randn(rows, cols, generator=g)
    cases = {
        "twn_tensor": lambda v: twn(v, False),
        "twn_row": lambda v: twn(v, True),
        "sym8_tensor": lambda v: sym(v, 8, False),
        "sym4_row": lambda v: sym(v, 4, True),
        "sym2_row": lambda v: sym(v, 2, True),
    }
    out = {"rows": rows, "cols": cols, "clip": CLIP, "x": x.flatten().tolist(), "dout": dout.flatten().tolist()}
    for name, fn in cases.items():
        v = x.clone().requires_grad_(True)
        y = STE.apply(v, fn)
        (y * dout).sum().backward()
        out[name] = {"out": y.detach().flatten().tolist(), "grad": v.grad.flatten().tolist()}
    out["int8_token"] = {"out": int8_token(x).flatten().tolist()}
    with open(OUT, "w") as f:
        json.dump(out, f)
    print("wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
