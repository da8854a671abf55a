"""Dev accuracy and distillation loss against iterations for the `qat` arms, on one SVG chart.

Reads the `report.json` of each run (the pass's series "Held-out accuracy …" and "Distillation
loss"), writes docs/results/qat/<name>.svg and prints a markdown table. No plotting library: the
SVG is written by hand.

    python3 tools/qat/curves.py OUT.svg "label=/tmp/ternary-out/ternary-a" "label=/tmp/ternary-out/ternary-b" …
"""
import json
import sys

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


def load(folder):
    report = json.load(open(folder + "/report.json"))
    p = [x for x in report["passes"] if x["kind"] == "qat"][0]
    series = {s["title"]: s for s in p["series"]}
    acc = next(s for t, s in series.items() if t.startswith("Held-out accuracy"))
    loss = series["Distillation loss"]
    return p, [(int(x), v) for x, v in zip(acc["labels"], acc["values"])], [(int(x), v) for x, v in zip(loss["labels"], loss["values"])]


def smooth(points, window=10):
    out = []
    for i in range(len(points)):
        part = points[max(0, i - window + 1): i + 1]
        out.append((points[i][0], sum(v for _, v in part) / len(part)))
    return out


def panel(x0, y0, w, h, title, ylabel, curves, xmax, ymin, ymax, dots):
    s = [f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#888"/>',
         f'<text x="{x0 + w / 2}" y="{y0 - 8}" text-anchor="middle" font-size="14">{title}</text>',
         f'<text x="{x0 - 45}" y="{y0 + h / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 {x0 - 45} {y0 + h / 2})">{ylabel}</text>',
         f'<text x="{x0 + w / 2}" y="{y0 + h + 32}" text-anchor="middle" font-size="12">iteration</text>']
    fx = lambda x: x0 + w * x / xmax
    fy = lambda y: y0 + h - h * (y - ymin) / (ymax - ymin)
    for i in range(6):
        v = ymin + (ymax - ymin) * i / 5
        s.append(f'<line x1="{x0}" x2="{x0 + w}" y1="{fy(v):.1f}" y2="{fy(v):.1f}" stroke="#eee"/>')
        s.append(f'<text x="{x0 - 5}" y="{fy(v) + 4:.1f}" text-anchor="end" font-size="11">{v:.3g}</text>')
    for i in range(5):
        x = xmax * i / 4
        s.append(f'<text x="{fx(x):.1f}" y="{y0 + h + 15}" text-anchor="middle" font-size="11">{x:.0f}</text>')
    for (label, pts), color in zip(curves, COLORS):
        d = " ".join(f"{fx(x):.1f},{fy(y):.1f}" for x, y in pts)
        s.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="1.8"/>')
        if dots:
            s += [f'<circle cx="{fx(x):.1f}" cy="{fy(y):.1f}" r="2.5" fill="{color}"/>' for x, y in pts]
    return s


def main():
    out, runs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    data = [(label, *load(folder)) for label, folder in runs]
    xmax = max(max(x for x, _ in loss) for _, _, _, loss in data)
    accs = [v for _, _, acc, _ in data for _, v in acc]
    losses = [(label, smooth(loss)) for label, _, _, loss in data]
    lv = [v for _, pts in losses for _, v in pts]
    w, h = 420, 260
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * w + 170}" height="{h + 130}" font-family="sans-serif">',
           '<rect width="100%" height="100%" fill="white"/>']
    svg += panel(70, 30, w, h, "SST-2 dev accuracy (fake-quant student)", "accuracy",
                 [(l, acc) for l, _, acc, _ in data], xmax, min(accs) - 0.01, max(accs) + 0.01, True)
    svg += panel(w + 150, 30, w, h, "distillation loss (10-step running mean)", "loss", losses, xmax, min(lv) * 0.95, max(lv) * 1.02, False)
    for i, ((label, *_), color) in enumerate(zip(data, COLORS)):
        y = h + 85 + 16 * i
        svg.append(f'<line x1="80" x2="105" y1="{y - 4}" y2="{y - 4}" stroke="{color}" stroke-width="2.5"/>')
        svg.append(f'<text x="112" y="{y}" font-size="12">{label}</text>')
    svg.append("</svg>")
    open(out, "w").write("\n".join(svg) + "\n")
    steps = sorted({x for _, _, acc, _ in data for x, _ in acc})
    print("| step | " + " | ".join(l for l, *_ in data) + " |")
    print("|---|" + "---|" * len(data))
    for s in steps:
        row = []
        for _, _, acc, _ in data:
            v = dict(acc).get(s)
            row.append(f"{100 * v:.2f} %" if v is not None else "")
        print(f"| {s} | " + " | ".join(row) + " |")
    for label, p, acc, loss in data:
        m = p["metrics"]
        print(f"{label}: final fake-quant {m.get('fake_quant_accuracy')}, exported {m.get('exported_accuracy')} (dequantized {m.get('exported_accuracy_dequantized')}), "
              f"loss first {m.get('first_loss'):.4f} final(10% tail) {m.get('final_loss'):.4f}")


if __name__ == "__main__":
    main()
