#!/usr/bin/env python3
"""Same work measured more than once in one run: do the medians agree within the reported noise?

Groups ok records of a method whose measured work is identical (for adapter_projection's base_only, the
adapters, K, rank and popularity do not enter the computation: records with the same method label, mode and
batch repeat the same measurement). Prints, per group, the spread of medians against the reported stdrel.

usage: analysis/repeatability.py RESULTS.jsonl [--method base_only] [--keys mode,batch]
"""
import argparse
import json
import statistics
import sys
from collections import defaultdict


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--method", default="base_only")
    ap.add_argument("--keys", default="mode,batch", help="point fields that define identical work")
    ap.add_argument("--fail", action="store_true", help="exit 1 when a group spreads beyond its noise")
    args = ap.parse_args()
    keys = args.keys.split(",")
    groups = defaultdict(list)
    for line in open(args.results):
        r = json.loads(line)
        if r.get("status") != "ok" or r.get("method") != args.method:
            continue
        groups[(r["method_label"],) + tuple(r["point"][k] for k in keys)].append(r["time"])
    worst = 0.0
    print(f"| group | n | median of medians (ms) | max-min spread | max reported stdrel | spread / (2 x stdrel) |")
    print("|---|---|---|---|---|---|")
    for g, times in sorted(groups.items(), key=lambda kv: str(kv[0])):
        if len(times) < 2:
            continue
        med = [t["median"] for t in times]
        centre = statistics.median(med)
        spread = (max(med) - min(med)) / centre
        noise = max(t["stdrel"] for t in times)
        ratio = spread / (2 * noise) if noise > 0 else float("inf")
        worst = max(worst, ratio)
        label = ", ".join(str(x) for x in g)
        print(f"| {label} | {len(times)} | {centre:.4f} | {100*spread:.2f}% | {100*noise:.2f}% | {ratio:.2f} |")
    print(f"\nworst spread / (2 x stdrel): {worst:.2f} ({'within' if worst <= 1 else 'beyond'} the reported noise)")
    return 1 if args.fail and worst > 1 else 0


if __name__ == "__main__":
    sys.exit(main())
