#!/usr/bin/python3
"""Plots from lrbench results (JSONL): PNG and PDF of each kind the records allow.

  analysis/plot.py RESULTS.jsonl... --out DIR [--point REGEX] [--formats png,pdf]

Kinds (a file per family or block, named <kind>_<family>[_<block>].{png,pdf}):
  roofline    achieved FLOP/s against arithmetic intensity (floor FLOPs / floor bytes), the measured copy and
              GEMM ceilings drawn, each method a marker (every family)
  latency     adapter_projection: median time against batch per method and mode, base_only and the floor as lines
  pareto      kv_compression: compression ratio against relative error per method and mode, the Pareto front
              (higher ratio, lower error) marked; model KL beside it where records carry it
  tokens      lowrank_linear / lowrank_ffn: time and transient memory against tokens T, one line per method
              and rank
  floorbars   floor fraction per method at one point (--point REGEX on the point id, else the first point)
Titles carry the GPU (or host) and the commit. Only ok records are drawn. Uses matplotlib (Debian's
python3-matplotlib, installed by scripts/setup); `lrbench plot` calls this script.
"""
import argparse
import collections
import json
import math
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_records(paths):
    records = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    r = json.loads(line)
                except json.JSONDecodeError as e:
                    print(f"warning: {path}:{number}: skipped a malformed line ({e})", file=sys.stderr)
                    continue
                if isinstance(r, dict) and r.get("status") == "ok":
                    records.append(r)
    return records


def get(r, *keys, default=None):
    for k in keys:
        if not isinstance(r, dict) or k not in r or r[k] is None:
            return default
        r = r[k]
    return r


def machine_of(records):
    env = get(records[0], "env", default={}) or {}
    gpu = env.get("gpu") if env.get("with_cuda") and records[0].get("backend") == "cuda" else None
    return gpu or f"CPU ({env.get('host_cpu', 'host')})"


def title(records, what):
    shas = sorted({str(get(r, "git_sha", default="?"))[:7] + ("+dirty" if get(r, "git_dirty") else "") for r in records})
    return f"{what}\n{machine_of(records)}, commit {', '.join(shas)}"


FORMATS = ["png", "pdf"]
DPI = [120]


def save(fig, out, name):
    paths = []
    for ext in FORMATS:
        p = os.path.join(out, f"{name}.{ext}")
        fig.savefig(p, dpi=DPI[0], bbox_inches="tight")
        paths.append(p)
    plt.close(fig)
    return paths


def slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "all"


def groups(records):
    """(family, block) -> records"""
    g = collections.OrderedDict()
    for r in records:
        g.setdefault((r.get("task", "?"), r.get("block") or ""), []).append(r)
    return g


def roofline(records, out, name):
    pts = []
    for r in records:
        flops, nbytes, ms = get(r, "floor", "flops"), get(r, "floor", "bytes"), get(r, "time", "median")
        if not flops or not nbytes or not ms:
            continue
        pts.append((r["method_label"], flops / nbytes, flops / (ms * 1e-3)))
    if not pts:
        return []
    fig, ax = plt.subplots(figsize=(7, 5))
    for i, label in enumerate(sorted({p[0] for p in pts})):
        xs = [p[1] for p in pts if p[0] == label]
        ys = [p[2] for p in pts if p[0] == label]
        ax.scatter(xs, ys, label=label, marker="os^vD<>pPX*h"[i % 12], s=28)
    bw, gemm = get(records[0], "ceilings", "copy_bytes_per_s"), get(records[0], "ceilings", "gemm_flops_per_s")
    lo, hi = min(p[1] for p in pts) / 2, max(p[1] for p in pts) * 2
    if bw and gemm:
        xs = [lo * (hi / lo) ** (k / 100) for k in range(101)]
        ax.plot(xs, [min(gemm, bw * x) for x in xs], "k--", lw=1, label="measured ceilings (copy, GEMM)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (floor FLOP / floor byte)")
    ax.set_ylabel("achieved FLOP/s (floor FLOPs / median time)")
    ax.set_title(title(records, f"roofline: {name}"), fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    return save(fig, out, f"roofline_{slug(name)}")


def latency(records, out, name):
    """One figure per mode; one panel per (popularity, K, rank); in each, one line per method against batch."""
    rs = [r for r in records if get(r, "point", "batch") is not None]
    if not rs:
        return []
    made = []
    facet_keys = ("popularity", "K", "rank")
    for mode in sorted({get(r, "point", "mode", default="") for r in rs}):
        sub = [r for r in rs if get(r, "point", "mode", default="") == mode]
        facets = sorted({tuple(get(r, "point", k) for k in facet_keys) for r in sub}, key=str)
        cols = min(len(facets), 4)
        rows = (len(facets) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False, sharex=True)
        methods = sorted({r["method_label"] for r in sub})
        colors = {m: f"C{i % 10}" for i, m in enumerate(m for m in methods if not m.startswith("base_only"))}
        handles = {}
        for n, facet in enumerate(facets):
            ax = axes[n // cols][n % cols]
            here = [r for r in sub if tuple(get(r, "point", k) for k in facet_keys) == facet]
            floor = {}
            for m in methods:
                xy = sorted((get(r, "point", "batch"), get(r, "time", "median")) for r in here if r["method_label"] == m)
                if not xy:
                    continue
                base = m.startswith("base_only")
                # base_only's schedules in black, told apart by the line: batched solid, per_projection faded,
                # cutlass_grouped dashed
                (h,) = ax.plot([p[0] for p in xy], [p[1] for p in xy],
                               ("--" if "cutlass" in m else "-") if base else "o-", ms=3,
                               color="k" if base else colors[m], lw=1.8 if base else 1,
                               alpha=0.5 if base and "per_projection" in m else 1.0)
                handles.setdefault(m, h)
            for r in here:
                if get(r, "floor", "time_ms"):
                    b = get(r, "point", "batch")
                    floor[b] = min(floor.get(b, math.inf), get(r, "floor", "time_ms"))
            if floor:
                fb = sorted(floor.items())
                (h,) = ax.plot([p[0] for p in fb], [p[1] for p in fb], "k:", lw=1)
                handles.setdefault("floor (fewest bytes a method moves)", h)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_title(", ".join(f"{k}={v}" for k, v in zip(facet_keys, facet) if v is not None), fontsize=8)
            ax.grid(True, which="both", alpha=0.3)
            if n % cols == 0:
                ax.set_ylabel("median time (ms)")
            if n // cols == rows - 1:
                ax.set_xlabel("batch (tokens)")
        for n in range(len(facets), rows * cols):
            axes[n // cols][n % cols].axis("off")
        fig.legend(list(handles.values()), list(handles.keys()), loc="lower center", ncol=min(4, len(handles)),
                   fontsize=7, bbox_to_anchor=(0.5, -0.02 - 0.025 * ((len(handles) + 3) // 4)))
        fig.suptitle(title(sub, f"latency against batch: {name}, {mode or 'all modes'} (base_only in black)"),
                     fontsize=9)
        fig.tight_layout()
        made += save(fig, out, f"latency_{slug(name)}_{slug(mode)}")
    return made


def pareto_front(points):
    """Points (error, ratio) not dominated by another with lower-or-equal error and higher-or-equal ratio."""
    front = []
    for e, c in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or c > front[-1][1]:
            front.append((e, c))
    return front


def pareto(records, out, name):
    pts = [(r["method_label"], get(r, "fidelity", "rel_error"), get(r, "compression", "ratio"),
            get(r, "fidelity", "model", "kl")) for r in records]
    pts = [p for p in pts if p[1] is not None and p[2] is not None]
    if not pts:
        return []
    has_kl = any(p[3] is not None for p in pts)
    fig, axes = plt.subplots(1, 2 if has_kl else 1, figsize=(12 if has_kl else 7, 5), squeeze=False)
    for ax, idx, xlabel in [(axes[0][0], 1, "relative error of the restored cache (0 drawn at 1e-12)")] + (
            [(axes[0][1], 3, "next-token KL of the model (nats)")] if has_kl else []):
        sel = [p for p in pts if p[idx] is not None]
        for i, label in enumerate(sorted({p[0] for p in sel})):
            ax.scatter([max(p[idx], 1e-12) for p in sel if p[0] == label], [p[2] for p in sel if p[0] == label],
                       label=label, marker="os^vD<>pPX*h"[i % 12], s=30)
        front = pareto_front([(max(p[idx], 1e-12), p[2]) for p in sel])
        ax.plot([f[0] for f in front], [f[1] for f in front], "k--", lw=1, label="Pareto front")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("compression ratio (original fp16 bytes / everything stored)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    fig.suptitle(title(records, f"compression against error: {name}"), fontsize=9)
    return save(fig, out, f"pareto_{slug(name)}")


def tokens(records, out, name):
    rs = [r for r in records if get(r, "point", "tokens") is not None]
    if not rs:
        return []
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 5))
    lines = collections.defaultdict(list)
    for r in rs:
        rank = get(r, "point", "rank") or get(r, "workload", "rank")
        key = f"{r['method_label']} r={rank}"
        lines[key].append((get(r, "point", "tokens"), get(r, "time", "median"),
                           get(r, "memory", "transient_bytes", default=get(r, "memory", "peak_bytes"))))
    for i, (key, pts) in enumerate(sorted(lines.items())):
        pts.sort()
        m = "os^vD<>pPX*h"[i % 12]
        ax_t.plot([p[0] for p in pts], [p[1] for p in pts], marker=m, ms=4, label=key)
        mem = [(p[0], p[2]) for p in pts if p[2] is not None]
        if mem:
            ax_m.plot([p[0] for p in mem], [max(p[1], 1) for p in mem], marker=m, ms=4, label=key)
    for ax, ylabel in ((ax_t, "median time (ms)"), (ax_m, "transient device memory (bytes; 0 drawn at 1)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("tokens T")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    fig.suptitle(title(rs, f"time and transient memory against T: {name}"), fontsize=9)
    return save(fig, out, f"tokens_{slug(name)}")


def floorbars(records, out, name, point_re):
    rs = [r for r in records if get(r, "floor", "fraction") is not None]
    if point_re:
        rs = [r for r in rs if re.search(point_re, r.get("point_id", ""))]
    if not rs:
        return []
    point = rs[0].get("point_id", "default")
    rs = [r for r in rs if r.get("point_id") == point]
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(rs) + 2), 4.5))
    labels = [r["method_label"] for r in rs]
    ax.bar(range(len(rs)), [get(r, "floor", "fraction") for r in rs], color="tab:blue")
    ax.axhline(1.0, color="k", lw=1, ls="--")
    ax.set_xticks(range(len(rs)))
    ax.set_xticklabels(labels, rotation=40, ha="right", fontsize=7)
    ax.set_ylabel("floor fraction (floor time / median time)")
    ax.set_title(title(rs, f"floor fraction per method: {name}, {point}"), fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    return save(fig, out, f"floorbars_{slug(name)}")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="+", help="results .jsonl files (one config's, or several)")
    ap.add_argument("--out", required=True, help="folder for the PNG and PDF files")
    ap.add_argument("--point", default="", help="regex on the point id: the floor-fraction bars' point")
    ap.add_argument("--formats", default="png,pdf", help="comma-separated: png, pdf (default both)")
    ap.add_argument("--dpi", type=int, default=120, help="PNG resolution (default 120)")
    a = ap.parse_args(argv)
    DPI[0] = max(30, min(600, a.dpi))
    FORMATS[:] = [f for f in a.formats.split(",") if f]
    if not FORMATS or any(f not in ("png", "pdf") for f in FORMATS):
        print(f"error: --formats {a.formats}: png and/or pdf", file=sys.stderr)
        return 2
    for p in a.results:
        if not os.path.isfile(p):
            print(f"error: {p}: no such file", file=sys.stderr)
            return 2
    records = read_records(a.results)
    if not records:
        print("error: no ok record in " + ", ".join(a.results), file=sys.stderr)
        return 2
    os.makedirs(a.out, exist_ok=True)
    made = []
    for (family, block), rs in groups(records).items():
        name = family + (f" {block}" if block else "")
        made += roofline(rs, a.out, name)
        made += floorbars(rs, a.out, name, a.point)
        if family == "adapter_projection":
            made += latency(rs, a.out, name)
        if family == "kv_compression":
            made += pareto(rs, a.out, name)
        if family in ("lowrank_linear", "lowrank_ffn"):
            made += tokens(rs, a.out, name)
    for p in made:
        print(p)
    print(f"plot: {len(made)} files in {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
