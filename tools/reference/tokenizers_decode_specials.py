"""Decoding with special tokens kept and skipped, from the `tokenizers` library (issue 19: the values
DecodeKeepingSpecialTokensTests used to hold as literals). Tokenizers whose training is deterministic.

Writes fixtures/tokenizers/decode_specials.json.
Run: /root/venv/bin/python tools/reference/tokenizers_decode_specials.py
"""
import json, os
import tokenizers

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "../.."))
CASES = [("llama2-bpe.tokenizer.json", "Hello world"), ("llama3-bpe.tokenizer.json", "Hello world"),
         ("roberta-bpe.tokenizer.json", "Hello <mask> world"), ("minilm/tokenizer.json", "Hello world")]
out = []
for file, text in CASES:
    tok = tokenizers.Tokenizer.from_file(os.path.join(ROOT, "fixtures/tokenizers", file))
    ids = tok.encode(text).ids
    out.append({"file": file, "text": text, "ids": ids, "decoded_keeping_specials": tok.decode(ids, skip_special_tokens=False),
                "decoded": tok.decode(ids)})
with open(os.path.join(ROOT, "fixtures/tokenizers/decode_specials.json"), "w") as f:
    json.dump({"meta": {"generator": "tools/reference/tokenizers_decode_specials.py", "tokenizers": tokenizers.__version__},
               "cases": out}, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(out)
