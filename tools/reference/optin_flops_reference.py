"""FLOPs of one BERT layer and of the classifier head, counted by torch.utils.flop_counter (2 per
multiply-add of every matmul, attention's QKᵀ and PV included), on stock transformers'
BertForSequenceClassification (fixtures/models-reference/bert_classifier): the per-layer and head
counts behind OPTIN's scoring FLOP count (Passes/Pruning/OptinScoringCost.swift).

Writes fixtures/pruning/optin_flops_reference.json.
Run: /root/venv/bin/python tools/reference/optin_flops_reference.py
"""
import json, os
import torch
import transformers
from torch.utils.flop_counter import FlopCounterMode

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "../.."))
MODEL = "fixtures/models-reference/bert_classifier"
LENGTHS = [5, 4, 7]
torch.set_grad_enabled(False)


def count(fn):
    with FlopCounterMode(display=False) as m:
        fn()
    return m.get_total_flops()


def main():
    model = transformers.BertForSequenceClassification.from_pretrained(os.path.join(ROOT, MODEL), dtype=torch.float32, attn_implementation="eager").eval()   # matmul attention: counted
    c = model.config.hidden_size
    layers = []
    for layer in model.bert.encoder.layer:
        layers.append(sum(count(lambda: layer(torch.randn(1, t, c))) for t in LENGTHS))
    head = sum(count(lambda: model.classifier(model.bert.pooler(torch.randn(1, t, c)))) for t in LENGTHS)
    out = {"meta": {"generator": "tools/reference/optin_flops_reference.py", "torch": torch.__version__,
                    "transformers": transformers.__version__, "model": MODEL, "segment_lengths": LENGTHS},
           "layer_flops": layers, "head_flops": head}
    with open(os.path.join(ROOT, "fixtures/pruning/optin_flops_reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(out)


if __name__ == "__main__":
    main()
