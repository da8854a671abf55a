#!/usr/bin/env python3
"""Reference ids for the Tokenizers module, written with the Hugging Face `tokenizers` library.

Run from the repository root:  /root/venv/bin/python tools/reference/tokenizers_reference.py

Writes into fixtures/tokenizers/:
  corpus.json                 the test lines (Tiny Shakespeare, WikiText-2, SST-2, edge cases)
  minilm/                     copy of ../shared/models/minilm-l6-sst2 tokenizer files (Apache-2.0)
  <name>.tokenizer.json       small tokenizers this script trains (Llama-2 / Llama-3 / RoBERTa style, ...)
  <name>.ids.json             for each tokenizer: ids per line, decoded text, pair encodings, a padded batch
"""
import json
import os
import shutil
import sys

import tokenizers
from tokenizers import Tokenizer, Regex, models, normalizers, pre_tokenizers, decoders, processors, trainers, AddedToken

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("WHITTLE_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
OUT = os.path.join(ROOT, "fixtures", "tokenizers")
META = {"generator": "tools/reference/tokenizers_reference.py", "tokenizers": tokenizers.__version__,
        "python": sys.version.split()[0]}


def corpus_lines():
    shakespeare = open(os.path.join(SHARED, "data/tinyshakespeare/input.txt"), encoding="utf-8").read().split("\n")
    wiki = open(os.path.join(SHARED, "data/wikitext2/wikitext2-raw-test.joined.txt"), encoding="utf-8").read().split("\n")
    sst = [l.split("\t")[0] for l in open(os.path.join(SHARED, "data/sst2/dev.tsv"), encoding="utf-8").read().split("\n")[1:] if l]
    edge = json.load(open(os.path.join(OUT, "edge_cases.json"), encoding="utf-8"))["lines"]
    lines = shakespeare[:800] + wiki[:900] + sst[:500] + edge
    return lines, {"tinyshakespeare": [0, 800], "wikitext2": [800, 1700], "sst2": [1700, 2200], "edge_cases": [2200, len(lines)]}


def training_text():
    text = open(os.path.join(SHARED, "data/tinyshakespeare/input.txt"), encoding="utf-8").read().split("\n")
    wiki = open(os.path.join(SHARED, "data/wikitext2/wikitext2-raw-test.joined.txt"), encoding="utf-8").read().split("\n")
    return text[5000:25000] + wiki[2000:6000]


BYTE_TOKENS = ["<0x%02X>" % i for i in range(256)]


def train_llama2(text):
    """Llama-2 style: SentencePiece-like BPE over ▁-joined words with byte fallback."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=["<unk>", "<s>", "</s>"], limit_alphabet=90,
                                  show_progress=False)
    tok.train_from_iterator(text, trainer)
    # Put the 256 byte tokens in the vocabulary (ids 3…258) as sentencepiece does; merges stay.
    d = json.loads(tok.to_str())
    old = sorted(d["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab = {}
    for t, _ in old[:3]:
        vocab[t] = len(vocab)
    for t in BYTE_TOKENS:
        vocab[t] = len(vocab)
    for t, _ in old[3:]:
        if t not in vocab:
            vocab[t] = len(vocab)
    d["model"]["vocab"] = vocab
    for a in d["added_tokens"]:
        a["id"] = vocab[a["content"]]
    d["post_processor"] = json.loads(processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]).__getstate__())
    d["decoder"] = json.loads(decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                                 decoders.Strip(" ", 1, 0)]).__getstate__())
    metaspace = Tokenizer.from_str(json.dumps(d))
    # Legacy layout of the same model: normalizer Prepend + Replace, no pre-tokenizer.
    legacy = json.loads(json.dumps(d))
    legacy["pre_tokenizer"] = None
    legacy["normalizer"] = json.loads(normalizers.Sequence([normalizers.Prepend("▁"),
                                                            normalizers.Replace(" ", "▁")]).__getstate__())
    legacy["decoder"] = json.loads(decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True).__getstate__())
    return metaspace, Tokenizer.from_str(json.dumps(legacy))


LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def train_llama3(text):
    """Llama-3 style: regex Split + ByteLevel without its own regex, ignore_merges, BOS template."""
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1500, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(text, trainer)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    return tok


def train_roberta(text):
    """RoBERTa / GPT-2 style: ByteLevel with prefix space, RoBERTa post-processor, <mask> with lstrip."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(text, trainer)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    return tok


def train_misc_wordpiece(text):
    """Component coverage: NFKC/NFD/strip accents/lowercase/replace, whitespace + digits + punctuation,
    WordPiece, BERT post-processor, added tokens with lstrip/rstrip/normalized."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=40))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace("``", '"'),
                                           normalizers.Replace(Regex(r"\s+"), " "), normalizers.NFD(),
                                           normalizers.StripAccents(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.Punctuation(behavior="isolated")])
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=1500, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"],
                                        show_progress=False)
    tok.train_from_iterator(text, trainer)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, special=True, normalized=False)])
    tok.add_tokens([AddedToken("hello world", normalized=True), AddedToken("ZZTop", normalized=False, single_word=True)])
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
    return tok


def train_unigram(text):
    """Unigram (SentencePiece) with NFKC and Metaspace, as T5 / ALBERT ship."""
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    trainer = trainers.UnigramTrainer(vocab_size=1000, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>",
                                      show_progress=False)
    tok.train_from_iterator(text, trainer)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B:1 </s>:1",
                                                       special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return tok


def train_classic_bpe(text):
    """Component coverage: classic BPE with `##` continuation and `</w>` suffix, NFC + Strip + Replace,
    WhitespaceSplit / Split (string, merged-with-previous) / Digits (contiguous) / Punctuation
    (contiguous), BPEDecoder, a pair template with two special tokens, an rstrip added token."""
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Strip(left=True, right=True),
                                           normalizers.Replace("''", '"')])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split("-", behavior="merged_with_previous"),
        pre_tokenizers.Digits(individual_digits=False), pre_tokenizers.Punctuation(behavior="contiguous")])
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=["[UNK]", "[CLS]", "[SEP]", "[EOS]"],
                                  continuing_subword_prefix="##", end_of_word_suffix="</w>", show_progress=False)
    tok.train_from_iterator(text, trainer)
    tok.add_special_tokens([AddedToken("[SEP]", rstrip=True, special=True, normalized=False)])
    tok.add_tokens([AddedToken("<br>", normalized=False)])
    ids = {t: tok.token_to_id(t) for t in ("[CLS]", "[SEP]", "[EOS]")}
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP] [EOS]", pair="[CLS] $A [SEP] $B:1 [SEP]:1 [EOS]:1", special_tokens=list(ids.items()))
    return tok


def train_metaspace_variants(text):
    """Component coverage: NFKD + lowercase, CharDelimiterSplit, Split regex with inversion,
    Metaspace splitting with prepend_scheme never, ByteLevel + template post-processor sequence."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.CharDelimiterSplit(";"),
        pre_tokenizers.Split(Regex(r"[a-z]+|[0-9]+"), behavior="removed", invert=True),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True)])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="never", split=True)
    trainer = trainers.BpeTrainer(vocab_size=900, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    tok.train_from_iterator(text, trainer)
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                      special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])])
    return tok


def with_unigram_byte_fallback(tok):
    """The Unigram model with 256 <0xXX> tokens appended and byte_fallback on (unknown spans → bytes)."""
    d = json.loads(tok.to_str())
    d["model"]["vocab"] += [[t, -100.0] for t in BYTE_TOKENS]
    d["model"]["byte_fallback"] = True
    return Tokenizer.from_str(json.dumps(d))


def reference(name, tok, lines, source, subset=None):
    """`encode` of each line (as `Tokenizer.encode`, the file's own truncation/padding applied), its
    `decode` (null when it equals the line: a round trip), and pair / padded-batch encodings."""
    indices = list(range(len(lines))) if subset is None else subset
    ids = [tok.encode(lines[i]).ids for i in indices]
    decoded = [tok.decode(x) for x in ids]
    decoded = [None if d == lines[i] else d for d, i in zip(decoded, indices)]
    plain = [tok.encode(lines[i], add_special_tokens=False).ids for i in indices[:300]]
    # decode(ids, skip_special_tokens=False) for the first 100 lines and the edge cases.
    kept_idx = [k for k, i in enumerate(indices) if k < 100 or i >= len(lines) - 91]
    kept = {"positions": kept_idx, "text": [tok.decode(ids[k], skip_special_tokens=False) for k in kept_idx]}
    pair_idx = list(range(0, 400, 2))
    pairs = [tok.encode(lines[i], lines[i + 1]) for i in pair_idx]
    # A batch with truncation and padding (longest-first on pairs, batch-longest padding).
    pad_id = tok.token_to_id("[PAD]") if tok.token_to_id("[PAD]") is not None else 0
    pad_token = tok.id_to_token(pad_id)
    trunc, pad = tok.truncation, tok.padding
    tok.enable_truncation(max_length=12)
    tok.enable_padding(pad_id=pad_id, pad_token=pad_token)
    batch_idx = list(range(1700, 1716))
    batch = tok.encode_batch([(lines[i], lines[i + 100]) for i in batch_idx])
    single_batch = tok.encode_batch([lines[i] for i in batch_idx])
    tok.no_truncation(); tok.no_padding()
    if trunc: tok.enable_truncation(**{k: v for k, v in trunc.items() if k in ("max_length", "stride", "strategy", "direction")})
    if pad: tok.enable_padding(**{k: v for k, v in pad.items() if k in ("direction", "pad_id", "pad_type_id", "pad_token", "length", "pad_to_multiple_of")})
    out = {
        "meta": dict(META, tokenizer=source, lines="corpus.json"),
        "line_indices": indices, "ids": ids, "ids_no_special_first_300": plain, "decoded": decoded,
        "decoded_keeping_special": kept,
        "pairs": {"first": pair_idx, "ids": [e.ids for e in pairs], "type_ids": [e.type_ids for e in pairs]},
        "padded_batch": {"max_length": 12, "pad_id": pad_id, "pairs_of": [[i, i + 100] for i in batch_idx],
                         "ids": [e.ids for e in batch], "type_ids": [e.type_ids for e in batch],
                         "attention_mask": [e.attention_mask for e in batch],
                         "single_ids": [e.ids for e in single_batch],
                         "single_attention_mask": [e.attention_mask for e in single_batch]},
    }
    with open(os.path.join(OUT, name + ".ids.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
    print(name, len(indices), "lines", sum(map(len, ids)), "tokens")


def long_text(lines, sources, tokenizers_by_name):
    """Evaluation-style input: the non-empty WikiText-2 fixture lines joined with " " into one string,
    encoded once (no truncation). Merged into long_text.ids.json."""
    lo, hi = sources["wikitext2"]
    text = " ".join(l for l in lines[lo:hi] if l.strip())[:60000]
    path = os.path.join(OUT, "long_text.ids.json")
    out = json.load(open(path, encoding="utf-8")) if os.path.exists(path) else {"meta": dict(META), "text": text, "ids": {}}
    out["text"] = text
    for name, file in tokenizers_by_name.items():
        tok = Tokenizer.from_file(file)
        tok.no_truncation(); tok.no_padding()
        out["ids"][name] = tok.encode(text).ids
        print("long text", name, len(text), "chars", len(out["ids"][name]), "tokens")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))


def main():
    lines, sources = corpus_lines()
    with open(os.path.join(OUT, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": dict(META, sources=sources), "lines": lines}, f, ensure_ascii=False, indent=0)

    minilm_src = os.path.join(SHARED, "models/minilm-l6-sst2")
    os.makedirs(os.path.join(OUT, "minilm"), exist_ok=True)
    for fn in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(minilm_src, fn), os.path.join(OUT, "minilm", fn))
    reference("minilm", Tokenizer.from_file(os.path.join(OUT, "minilm/tokenizer.json")), lines, "minilm/tokenizer.json")

    smol = os.path.join(SHARED, "tokenizers/smollm2-tokenizer.json")
    reference("smollm2", Tokenizer.from_file(smol), lines, "../shared/tokenizers/smollm2-tokenizer.json")

    text = training_text()
    llama2, llama2_legacy = train_llama2(text)
    trained = {"llama2-bpe": llama2, "llama2-legacy": llama2_legacy, "llama3-bpe": train_llama3(text),
               "roberta-bpe": train_roberta(text), "misc-wordpiece": train_misc_wordpiece(text),
               "unigram": train_unigram(text)}
    trained["unigram-bytes"] = with_unigram_byte_fallback(trained["unigram"])
    trained["classic-bpe"] = train_classic_bpe(text)
    trained["metaspace-variants"] = train_metaspace_variants(text)
    long_text(lines, sources, {"minilm": os.path.join(OUT, "minilm/tokenizer.json"), "smollm2": smol})
    # Variants of already-covered models get a smaller subset of lines (fixture size budget).
    e0 = sources["edge_cases"][0]
    subset = list(range(0, 200)) + list(range(800, 1000)) + list(range(1700, 1800)) + list(range(e0, len(lines)))
    for name, tok in trained.items():
        path = os.path.join(OUT, name + ".tokenizer.json")
        tok.save(path, pretty=False)
        full = name in ("llama2-bpe", "llama3-bpe")
        reference(name, Tokenizer.from_file(path), lines, name + ".tokenizer.json", None if full else subset)
    long_text(lines, sources, {n: os.path.join(OUT, n + ".tokenizer.json") for n in ("llama2-bpe", "llama3-bpe")})


if __name__ == "__main__":
    main()
