#!/usr/bin/env python3
"""Pivot a results JSONL into a markdown table: one row per point, one column per method label.

usage: analysis/pivot.py RESULTS.jsonl [--where mode=base+adapter,rank=16] [--value time.median]
       [--rows K,batch,popularity] [--format {:.3f}]
Values are dotted record fields (time.median, floor.fraction, hbm.read_bytes, ...); skipped records show as
"skip", failed ones as "FAIL".
"""
import argparse
import json
import sys


def field(record, dotted):
    cur = record
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--where", default="", help="comma-separated point filters key=value")
    ap.add_argument("--value", default="time.median")
    ap.add_argument("--rows", default="K,batch,popularity")
    ap.add_argument("--format", default="{:.3f}")
    args = ap.parse_args()
    where = dict(kv.split("=", 1) for kv in args.where.split(",") if kv)
    rows_keys = args.rows.split(",")
    table, columns, rows = {}, [], []
    for line in open(args.results):
        r = json.loads(line)
        point = r.get("point", {})
        if any(str(point.get(k)) != v for k, v in where.items()):
            continue
        row = tuple(point.get(k) for k in rows_keys)
        col = r["method_label"]
        if col not in columns:
            columns.append(col)
        if row not in rows:
            rows.append(row)
        if r["status"] == "ok":
            v = field(r, args.value)
            table[(row, col)] = args.format.format(v) if isinstance(v, (int, float)) else str(v)
        else:
            table[(row, col)] = "skip" if r["status"] == "skipped" else "FAIL"
    print("| " + " | ".join(rows_keys + columns) + " |")
    print("|" + "---|" * (len(rows_keys) + len(columns)))
    for row in rows:
        print("| " + " | ".join([str(x) for x in row] + [table.get((row, c), "") for c in columns]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
