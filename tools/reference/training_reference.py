"""Reference fixtures for the Training module (issue 6).

For tiny random models of every family (Llama with GQA, Qwen2 with biases and tied embeddings,
GPT-2, BERT sequence classifier, Mistral with GQA and a sliding window wider than the batch) this
writes fixtures/training/<case>/ with config.json, model.safetensors and reference.safetensors
holding: the batch (input_ids, attention_mask,
token_type_ids, labels), the loss, `grad.<parameter name>` for every parameter after one backward
(fp32, eval mode so dropout is off, eager attention), and `adamw_losses` [10]: the loss of each of
10 AdamW steps on the same batch (lr 1e-3 with 2 warm-up steps then linear decay to 0 at step 10,
betas (0.9, 0.999), eps 1e-8, weight decay 0.1 on parameters with ≥ 2 dims and 0 on norms and
biases, gradients clipped to global norm 1.0) — llm.c's test_gpt2 style trajectory check.

Run: /root/venv/bin/python tools/reference/training_reference.py [case ...] [--out DIR]
(no case: all of llama_gqa, qwen2_tied, gpt2, bert_classifier, mistral)
"""
import argparse, json, os, shutil
import torch, transformers, safetensors
from safetensors.torch import save_file
from transformers import (LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, GPT2Config, GPT2LMHeadModel,
                          BertConfig, BertForSequenceClassification, MistralConfig, MistralForCausalLM)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "fixtures", "training")
META = {"generator": "tools/reference/training_reference.py", "torch": torch.__version__,
        "transformers": transformers.__version__, "safetensors": safetensors.__version__}
STEPS, LR, WARMUP, WD, CLIP = 10, 1e-3, 2, 0.1, 1.0
COMMON = dict(attn_implementation="eager")


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("gate_"):      # gates attached by gated_attention_reference.py keep their own init
                continue
            if p.dim() == 1 and ("norm" in name.lower() or "ln_" in name):
                p.copy_((0.1 if name.endswith("bias") else 1) * torch.ones(p.shape) * (name.endswith("weight")) +
                        0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p.shape[-1] if "wte" not in name and "embed" not in name else 4
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)


def schedule(step):   # multiplier of LR at 0-based step
    if step < WARMUP:
        return (step + 1) / WARMUP
    return max(0.0, (STEPS - step) / (STEPS - WARMUP))


def adamw_losses(model, batch):
    """The loss of each of STEPS AdamW steps (warm-up, linear decay, decay on ≥ 2-D parameters, clipping)."""
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    losses = []
    for step in range(STEPS):
        opt.zero_grad()
        loss = model(**batch).loss
        losses.append(loss.item())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        sched.step()
    return losses


def run(case, model, batch):
    model.eval()
    folder = os.path.join(OUT, case)
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder, safe_serialization=True)
    out = model(**batch)
    out.loss.backward()
    tensors = {k: v.contiguous() for k, v in batch.items()}
    tensors["loss"] = out.loss.detach().reshape(1)
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad.detach().clone().contiguous()
    model.zero_grad()
    losses = adamw_losses(model, batch)
    tensors["adamw_losses"] = torch.tensor(losses, dtype=torch.float32)
    meta = dict(META, case=case, steps=str(STEPS), lr=str(LR), warmup=str(WARMUP), weight_decay=str(WD), clip=str(CLIP))
    save_file(tensors, os.path.join(folder, "reference.safetensors"), metadata=meta)
    print(case, "loss", out.loss.item(), "trajectory", [round(x, 4) for x in losses])


def lm_batch(vocab, seed, pad_last=2):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (2, 6), generator=g)
    mask = torch.ones(2, 6, dtype=torch.long)
    mask[1, 6 - pad_last:] = 0
    labels = ids.clone()
    labels[mask == 0] = -100
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def llama_gqa():
    m = LlamaForCausalLM(LlamaConfig(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
                                     rms_norm_eps=1e-6, tie_word_embeddings=False, **COMMON))
    randomize(m, 1); run("llama_gqa", m, lm_batch(40, 11))


def qwen2_tied():
    m = Qwen2ForCausalLM(Qwen2Config(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
                                     rms_norm_eps=1e-6, tie_word_embeddings=True, use_sliding_window=False, **COMMON))
    randomize(m, 2); run("qwen2_tied", m, lm_batch(40, 12))


def gpt2():
    m = GPT2LMHeadModel(GPT2Config(vocab_size=40, n_embd=16, n_layer=2, n_head=4, n_positions=32,
                                   resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, **COMMON))
    randomize(m, 3); run("gpt2", m, lm_batch(40, 13, pad_last=0))


def bert_classifier():
    m = BertForSequenceClassification(BertConfig(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                                 num_attention_heads=4, max_position_embeddings=32, num_labels=3,
                                                 hidden_dropout_prob=0, attention_probs_dropout_prob=0, **COMMON))
    randomize(m, 4)
    g = torch.Generator().manual_seed(14)
    ids = torch.randint(0, 40, (3, 6), generator=g)
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 5 + [0]])
    types = torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0], [0] * 6])
    run("bert_classifier", m, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types,
                               "labels": torch.tensor([2, 0, 1])})


def mistral():
    # Like llama_gqa (GQA 4/2 heads), with Mistral's sliding window (16) wider than the 6-token batch,
    # so the window never masks anything here.
    m = MistralForCausalLM(MistralConfig(vocab_size=40, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
                                         rms_norm_eps=1e-6, tie_word_embeddings=False, sliding_window=16, **COMMON))
    randomize(m, 5); run("mistral", m, lm_batch(40, 15))


CASES = {"llama_gqa": llama_gqa, "qwen2_tied": qwen2_tied, "gpt2": gpt2, "bert_classifier": bert_classifier,
         "mistral": mistral}


def main():
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", metavar="case",
                        help="cases to (re)generate, default all: " + ", ".join(CASES))
    parser.add_argument("--out", default=OUT, help="output folder (default fixtures/training)")
    args = parser.parse_args()
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error("unknown case(s): " + ", ".join(unknown))
    OUT = args.out
    os.makedirs(OUT, exist_ok=True)
    for case in args.cases or list(CASES):
        torch.manual_seed(0)   # every parameter is overwritten by randomize(); this only fixes the init draw
        CASES[case]()


if __name__ == "__main__":
    main()
