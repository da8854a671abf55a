"""Reference values for the safe SVAMP arithmetic evaluator (ALGORITHMS.md §6.1): Python's own `eval`
(what the reference metrics.py uses) of hand-written cases and of every SVAMP test label and teacher
label. Expressions Python cannot evaluate are recorded as null. Writes fixtures/distill/arithmetic_reference.json.
Run: python tools/reference/svamp_arithmetic_reference.py [DATA]"""
import json, os, re, sys
ROOT = os.path.join(os.path.dirname(__file__), "../..")
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "../shared/data/distill")

def py_eval(e):
    # Only strings made of the allowed characters are handed to eval (this script's own safety).
    if not re.fullmatch(r"[0-9.+\-*/() ]*", e):
        return None
    try:
        v = eval(e, {"__builtins__": {}}, {})
        return float(v)
    except Exception:
        return None

cases = ["( 84.0 / 2.0 )", "(84 / 2)", "( ( 17.0 + 15.0 ) + 2.0 )", "((1.5 + 2.25) * (10 - 4)) / 3",
         "7 - 2 - 1", "8 / 4 / 2", "2 + 3 * 4", "-(3 - 5) * 2", "( 0.5 * ( 12.0 - ( 3.0 + 1.0 ) ) )",
         "1 / 3", "100.0", "(((((42)))))", "3.75 * 4 - 0.125"]
svamp = os.path.join(DATA, "svamp")
labels = [json.loads(l)["label"] for l in open(os.path.join(svamp, "svamp_test.json")) if l.strip()]
out = {"cases": [{"expression": e, "value": py_eval(e)} for e in cases],
       "svamp_test_labels": [{"expression": e, "value": py_eval(e)} for e in labels]}
json.dump(out, open(os.path.join(ROOT, "fixtures/distill/arithmetic_reference.json"), "w"), indent=0)
print(len(out["cases"]), len(labels), sum(x["value"] is None for x in out["svamp_test_labels"]))
