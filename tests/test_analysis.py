#!/usr/bin/env python3
"""Checks analysis/pivot.py and analysis/repeatability.py on records whose answers are known."""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def record(method, point, median, stdrel, status="ok"):
    r = {"method": method, "method_label": method, "status": status, "point": point,
         "time": {"median": median, "stdrel": stdrel}, "floor": {"fraction": 0.5}}
    if status != "ok":
        r["time"] = None
    return r


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT)


def main():
    failures = []
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.jsonl")
        rows = [record("base_only", {"mode": "m", "batch": 1, "K": k}, 1.0 + 0.001 * k, 0.01) for k in range(4)]
        rows += [record("base_only", {"mode": "m", "batch": 2, "K": k}, 1.0 + 0.1 * k, 0.001) for k in range(3)]
        rows.append(record("other", {"mode": "m", "batch": 1, "K": 0}, 9.0, 0.0, status="skipped"))
        with open(path, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        p = run("analysis/pivot.py", path, "--rows", "batch,K")
        if p.returncode != 0 or "| 1 | 3 | 1.003 |" not in p.stdout or "skip" not in p.stdout:
            failures.append("pivot: " + p.stdout + p.stderr)
        rep = run("analysis/repeatability.py", path, "--fail")
        # batch 1: spread 0.3% vs 2 x 1% noise (within); batch 2: 20% spread vs 0.1% noise (beyond).
        if rep.returncode != 1 or "beyond the reported noise" not in rep.stdout:
            failures.append("repeatability: " + rep.stdout + rep.stderr)
    for f in failures:
        print("FAILED", f)
    print(f"{2 - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
