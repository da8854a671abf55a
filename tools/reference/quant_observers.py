"""NumPy reference for the static W8A8 quantizers (ALGORITHMS.md §3.5), written independently of
the Swift code from the formulas: fixtures/quant/observers_reference.json.
  asymmetric uint8: scale = (max - min)/255 (range widened to include 0), zp = clip(round(-min/scale), 0, 255),
                    q = clip(round(x/scale) + zp, 0, 255), x_hat = scale*(q - zp)
  symmetric int8:   scale = alpha/127.5, x_hat = clip(round(x/scale), -128, 127)*scale
  running range:    first batch sets it; then r <- 0.1*batch + 0.9*r
  percentile:       batch bounds = np.percentile(x, [100-p, p]) (linear interpolation)
  mse grid:         fractions f_k = 1 - m + m*k/N, k = 1..N (N = 100, m = 0.5) of the extreme(s);
                    the candidate with the smallest squared error (float64 sum) wins, first on ties
The same quantities from PyTorch's own quantization library (torch.ao.quantization), the outside
reference the tests check first: MovingAverageMinMaxObserver (averaging_constant 0.1 = momentum 0.9;
first batch sets the range), MinMaxObserver's quint8 affine qparams, torch.fake_quantize_per_tensor_affine
(asymmetric 0..255 and symmetric -128..127) and torch.quantile (linear interpolation) for the
percentile observer. torch.ao has no MSE grid-search observer (its HistogramObserver minimises a
different, histogram-based L2 error), so the mse observer keeps the NumPy reference only.
Run: /root/venv/bin/python tools/reference/quant_observers.py
"""
import json, os
import numpy as np

f32 = np.float32
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "quant", "observers_reference.json")


def asym_params(lo, hi):
    lo, hi = min(f32(lo), f32(0)), max(f32(hi), f32(0))
    scale = f32((hi - lo) / f32(255))
    if scale == 0:
        scale = np.finfo(np.float32).eps
    zp = f32(np.clip(np.round(f32(-lo / scale)), 0, 255))
    return scale, zp


def fq_asym(x, scale, zp):
    q = np.clip(np.round(x / scale) + zp, 0, 255).astype(f32)
    return (scale * (q - zp)).astype(f32)


def fq_sym(x, alpha):
    scale = f32(alpha / f32(127.5)) if alpha > 0 else np.finfo(np.float32).eps
    return (np.clip(np.round(x / scale), -128, 127) * scale).astype(f32)


def fractions(n=100, m=f32(0.5)):
    return [f32(f32(f32(1) - m) + f32(f32(m * f32(k)) / f32(n))) for k in range(1, n + 1)]


def mse_sym_alpha(x):
    mx = f32(np.abs(x).max())
    best, err = mx, np.inf
    for fr in fractions():
        a = f32(mx * fr)
        e = float(np.sum((x.astype(np.float64) - fq_sym(x, a).astype(np.float64)) ** 2))
        if e < err:
            best, err = a, e
    return best


def mse_asym_range(x):
    lo, hi = f32(x.min()), f32(x.max())
    best, err = (lo, hi), np.inf
    for fr in fractions():
        s, z = asym_params(f32(lo * fr), f32(hi * fr))
        e = float(np.sum((x.astype(np.float64) - fq_asym(x, s, z).astype(np.float64)) ** 2))
        if e < err:
            best, err = (f32(lo * fr), f32(hi * fr)), e
    return best


def run_observer(kind, batches, p=99.9):
    lo = hi = None
    history = []
    for b in batches:
        if kind == "minmax":
            blo, bhi = f32(b.min()), f32(b.max())
        elif kind == "percentile":
            blo, bhi = f32(np.percentile(b, 100 - p)), f32(np.percentile(b, p))
        else:
            blo, bhi = mse_asym_range(b)
        if lo is None:
            lo, hi = blo, bhi
        else:
            lo = f32(f32(f32(0.1) * blo) + f32(f32(0.9) * lo))
            hi = f32(f32(f32(0.1) * bhi) + f32(f32(0.9) * hi))
        history.append([float(lo), float(hi)])
    return history


def torch_ao(batches, sample, p=99.9):
    import torch
    from torch.ao.quantization.observer import MinMaxObserver, MovingAverageMinMaxObserver
    moving = MovingAverageMinMaxObserver(averaging_constant=0.1, dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    minmax_history, percentile_history, lo, hi = [], [], None, None
    for b in batches:
        t = torch.tensor(b)
        moving(t)
        minmax_history.append([float(moving.min_val), float(moving.max_val)])
        q = torch.quantile(t.double(), torch.tensor([(100 - p) / 100, p / 100], dtype=torch.float64)).float()
        blo, bhi = q[0], q[1]
        lo, hi = (blo, bhi) if lo is None else (0.1 * blo + 0.9 * lo, 0.1 * bhi + 0.9 * hi)
        percentile_history.append([float(lo), float(hi)])
    obs = MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    obs(torch.tensor([-2.5, 3.0]))
    scale, zp = obs.calculate_qparams()
    x = torch.tensor(sample)
    sym_scale = 3.0 / 127.5
    return {"moving_average_minmax": minmax_history, "percentile_torch_quantile": percentile_history,
            "minmax_observer_quint8": [float(scale), int(zp)],
            "fake_quant_asymmetric": torch.fake_quantize_per_tensor_affine(x, float(scale), int(zp), 0, 255).tolist(),
            "fake_quant_symmetric_alpha_3": torch.fake_quantize_per_tensor_affine(x, sym_scale, 0, -128, 127).tolist()}


def main():
    rng = np.random.default_rng(35)
    batches = []
    for k in range(4):
        b = (rng.standard_normal(300) * (1 + k * 0.2) + 0.3).astype(f32)
        b[rng.integers(0, 300, 2)] = f32(9 + k)      # outliers the percentile / mse observers clip
        batches.append(b)
    weight = (rng.standard_normal(500) * 0.05).astype(f32)
    weight[7] = f32(0.6)
    sample = (rng.standard_normal(64) * 2).astype(f32)
    s, z = asym_params(f32(-2.5), f32(3.0))
    ref = {
        "meta": {"generator": "tools/reference/quant_observers.py", "numpy": np.__version__, "percentile": 99.9,
                 "momentum": 0.9, "grid": {"candidates": 100, "margin": 0.5}},
        "batches": [b.tolist() for b in batches],
        "observers": {k: run_observer(k, batches) for k in ["minmax", "percentile", "mse"]},
        "weight": weight.tolist(),
        "mse_symmetric_alpha": float(mse_sym_alpha(weight)),
        "sample": sample.tolist(),
        "asymmetric_params": [float(s), float(z)],
        "fake_quant_asymmetric": fq_asym(sample, s, z).tolist(),
        "fake_quant_symmetric_alpha_3": fq_sym(sample, f32(3.0)).tolist(),
    }
    ref["torch_ao"] = torch_ao(batches, sample)
    ref["meta"]["torch"] = __import__("torch").__version__
    with open(OUT, "w") as fh:
        json.dump(ref, fh)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
