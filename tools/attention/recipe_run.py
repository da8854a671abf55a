"""Shared by the tools/attention scripts: run one recipe with the release `compress`, read its report."""
import json, os, subprocess, time


def run(recipe, path, output, compress, threads=None):
    """Writes `recipe` to `path`, runs it into `output`; returns (report.json, wall seconds)."""
    with open(path, "w") as f:
        json.dump(recipe, f, indent=2)
    start = time.time()
    command = [compress, "--recipe", path, "--output", output, "--force"]  # progress lines go to stderr (the log)
    if threads:
        command += ["--threads", str(threads)]
    subprocess.run(command, check=True)
    with open(os.path.join(output, "report.json")) as f:
        return json.load(f), time.time() - start


def outlier_summary(stats):
    """Mean / max kurtosis and max ∞-norm over the report's outlier modules (ALGORITHMS.md §3.4)."""
    m = stats["modules"]
    return {"mean_kurtosis": sum(x["kurtosis"] for x in m) / len(m), "max_kurtosis": max(x["kurtosis"] for x in m),
            "max_inf_norm": max(x["infinityNorm"] for x in m)}
