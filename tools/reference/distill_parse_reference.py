"""Reference parse of the distilling-step-by-step teacher strings (ALGORITHMS.md §6.3), independent of
the Swift code: row counts, parse-failure counts and a handful of exact parses, written to
fixtures/distill/parse_reference.json. Run: python tools/reference/distill_parse_reference.py [DATA]
(DATA defaults to ../shared/data/distill)."""
import json, os, re, sys

DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../../shared/data/distill")
OUT = os.path.join(os.path.dirname(__file__), "../../fixtures/distill/parse_reference.json")


def parse_cqa(raw):
    """Before the first 'Q:'; split on 'So the answer is' (exactly once); label = text after the '(x)'
    marker, stripped, one trailing '.' removed. Failure: ' ' for the missing part."""
    text = raw.split("Q:")[0].rstrip()
    parts = text.split("So the answer is")
    if len(parts) != 2:
        return " ", " ", False
    rationale, rest = parts[0].rstrip(), parts[1]
    pieces = re.split(r"\(.\)", rest)
    if len(pieces) < 2 or pieces[1].strip() == "":
        return rationale, " ", False
    label = pieces[1].strip()
    if label.endswith("."):
        label = label[:-1]
    return rationale, label, True


def parse_svamp(raw):
    """Before the first 'Q:'; split on 'The answer is' (exactly once); label = the first '(...)' group."""
    text = raw.split("Q:")[0].rstrip()
    parts = text.split("The answer is")
    if len(parts) != 2:
        return " ", " ", False
    rationale = parts[0].rstrip()
    found = re.findall(r"\(.*?\)", parts[1])
    if not found:
        return rationale, " ", False
    return rationale, found[0], True


def load_cot(folder, split, count):
    out = []
    for i in range(count):
        path = os.path.join(folder, "llm", f"{split}_CoT_{i}.json")
        if not os.path.exists(path):
            break
        out += json.load(open(path))
    return out


result = {}
for name, parse, nfiles in [("svamp", parse_svamp, 10), ("cqa", parse_cqa, 10)]:
    folder = os.path.join(DATA, name)
    for split in ["train", "test"]:
        rows = [json.loads(l) for l in open(os.path.join(folder, f"{name}_{split}.json")) if l.strip()]
        raws = load_cot(folder, split, nfiles)
        parsed = [parse(r) for r in raws]
        failures = [i for i, p in enumerate(parsed) if not p[2]]
        picks = sorted(set([0, 1, 2, 7, len(parsed) - 1] + failures[:3]))
        result[f"{name}_{split}"] = {
            "rows": len(rows), "teacher_strings": len(raws), "failures": len(failures),
            "failure_rows": failures[:20],
            "examples": [{"row": i, "rationale": parsed[i][0], "label": parsed[i][1], "ok": parsed[i][2]} for i in picks],
        }
        if name == "cqa":
            r = rows[0]
            letters = "abcde"
            result[f"{name}_{split}"]["input_0"] = r["question"] + "\nAnswer Choices:\n" + "\n".join(
                f"({letters[i]}) {c}" for i, c in enumerate(r["choices"]))
            result[f"{name}_{split}"]["gold_0"] = r["answer"]
        else:
            result[f"{name}_{split}"]["input_0"] = rows[0]["input"]
            result[f"{name}_{split}"]["gold_0"] = rows[0]["label"]
json.dump(result, open(OUT, "w"), indent=1, ensure_ascii=False)
print({k: (v["rows"], v["teacher_strings"], v["failures"]) for k, v in result.items()})
