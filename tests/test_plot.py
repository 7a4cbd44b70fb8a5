#!/usr/bin/python3
"""analysis/plot.py and `lrbench plot`: every plot kind renders from the fixtures in tests/data/plot/ as a
PNG and a PDF with real content; a missing file and a file without ok records are errors (exit 2).

  tests/test_plot.py LRBENCH_BINARY
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data", "plot")
PLOT = os.path.join(ROOT, "analysis", "plot.py")

EXPECTED = {  # fixture -> the plot files it must give (without extension)
    "adapter.jsonl": ["roofline_adapter_projection_trained_like", "floorbars_adapter_projection_trained_like",
                      "latency_adapter_projection_trained_like_adapter-only",
                      "latency_adapter_projection_trained_like_base_adapter"],
    "kv.jsonl": ["roofline_kv_compression_llama2_7b_1024", "floorbars_kv_compression_llama2_7b_1024",
                 "pareto_kv_compression_llama2_7b_1024"],
    "lowrank.jsonl": ["roofline_lowrank_linear_linear", "floorbars_lowrank_linear_linear",
                      "tokens_lowrank_linear_linear"],
}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def check_files(out, names):
    for name in names:
        for ext, magic in (("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF")):
            p = os.path.join(out, f"{name}.{ext}")
            if not os.path.isfile(p):
                check(False, f"{p} missing (have: {sorted(os.listdir(out))})")
                continue
            with open(p, "rb") as f:
                head = f.read(8)
            check(head.startswith(magic), f"{p}: not a {ext} file")
            check(os.path.getsize(p) > 5000, f"{p}: {os.path.getsize(p)} bytes, too small to hold a plot")


def main():
    lrbench = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        for fixture, names in EXPECTED.items():
            out = os.path.join(tmp, "script_" + fixture)
            r = subprocess.run([sys.executable, PLOT, os.path.join(DATA, fixture), "--out", out],
                               capture_output=True, text=True)
            check(r.returncode == 0, f"plot.py {fixture}: exit {r.returncode}: {r.stderr}")
            check_files(out, names)
        # The CLI on all three at once: the same files.
        out = os.path.join(tmp, "cli")
        r = subprocess.run([lrbench, "plot"] + [os.path.join(DATA, f) for f in EXPECTED] + ["--out", out],
                           capture_output=True, text=True, env=dict(os.environ, LRBENCH_PYTHON=sys.executable))
        check(r.returncode == 0, f"lrbench plot: exit {r.returncode}: {r.stderr}")
        check_files(out, [n for names in EXPECTED.values() for n in names])
        # --point picks the floor-fraction bars' point.
        out = os.path.join(tmp, "point")
        r = subprocess.run([sys.executable, PLOT, os.path.join(DATA, "lowrank.jsonl"), "--out", out, "--point",
                            "tokens=4096,rank=256"], capture_output=True, text=True)
        check(r.returncode == 0, f"--point: exit {r.returncode}")
        # Errors: a missing file; a file with no ok record.
        r = subprocess.run([sys.executable, PLOT, os.path.join(tmp, "nope.jsonl"), "--out", out],
                           capture_output=True, text=True)
        check(r.returncode == 2 and "no such file" in r.stderr, f"missing file: exit {r.returncode} {r.stderr}")
        bad = os.path.join(tmp, "bad.jsonl")
        with open(bad, "w") as f:
            f.write('{"status": "failed"}\nnot json\n')
        r = subprocess.run([sys.executable, PLOT, bad, "--out", out], capture_output=True, text=True)
        check(r.returncode == 2 and "no ok record" in r.stderr, f"no ok record: exit {r.returncode} {r.stderr}")
    print(f"test_plot: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
