#!/usr/bin/env python3
"""Turn the replay.py outputs of bench/compare.sh into Markdown.

    detection.py CORPORA_TSV RESULTS_DIR TARGET_NAME:LABEL...

CORPORA_TSV is what corpora.py printed; RESULTS_DIR holds, per corpus and
target, `<corpus>.<target>.txt` (replay.py's stdout) and `.jsonl` (its --out).
Prints the side-by-side table (TPR on attacks, FPR on benign, per corpus),
then a per-category table and the status histograms.
"""
import collections
import json
import os
import re
import sys

tsv, resdir, targets = sys.argv[1], sys.argv[2], [t.split(":", 1) for t in sys.argv[3:]]
corpora = [line.rstrip("\n").split("\t") for line in open(tsv, encoding="utf-8") if line.strip()]


def load(corpus, target):
    path = os.path.join(resdir, "%s.%s.jsonl" % (corpus, target))
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def histogram(corpus, target):
    path = os.path.join(resdir, "%s.%s.txt" % (corpus, target))
    if not os.path.isfile(path):
        return "n/a"
    m = re.search(r"sent (\d+) requests in ([\d.]+)s .*status histogram: (\{.*\})", open(path).read())
    return "%s in %ss: %s" % (m.group(1), m.group(2), m.group(3)) if m else "n/a"


def rate(rows, label):
    sel = [r for r in rows if r["label"] == label]
    if not sel:
        return None, 0, 0
    b = sum(1 for r in sel if r["blocked"])
    return 100.0 * b / len(sel), b, len(sel)


def fmt(pct, b, n):
    return "–" if pct is None else "%.1f %% (%d/%d)" % (pct, b, n)


head = "| corpus | rows | " + " | ".join("%s TPR | %s FPR" % (lab, lab) for _, lab in targets) + " |"
print(head)
print("|" + "---|" * (2 + 2 * len(targets)))
per_cat = collections.OrderedDict()
for name, _path, desc in corpora:
    cells = []
    n = None
    for t, _lab in targets:
        rows = load(name, t)
        if rows is None:
            cells += ["not run", "not run"]
            continue
        n = len(rows)
        cells.append(fmt(*rate(rows, "attack")))
        cells.append(fmt(*rate(rows, "benign")))
        for r in rows:
            key = (name, r["label"], r["category"])
            per_cat.setdefault(key, {}).setdefault(t, [0, 0])
            per_cat[key][t][0] += 1
            per_cat[key][t][1] += 1 if r["blocked"] else 0
    print("| %s (%s) | %s | %s |" % (name, desc, n if n is not None else "–", " | ".join(cells)))

print()
print("TPR = attacks answered 403; FPR = benign requests answered 403 (tools/replay.py, one")
print("connection per request). Per category, share answered 403:")
print()
print("| corpus | label | category | n | " + " | ".join(lab for _, lab in targets) + " |")
print("|" + "---|" * (4 + len(targets)))
for (name, label, cat), by in per_cat.items():
    n = next(iter(by.values()))[0]
    cells = []
    for t, _lab in targets:
        if t in by:
            cells.append("%.1f %%" % (100.0 * by[t][1] / by[t][0]))
        else:
            cells.append("–")
    print("| %s | %s | %s | %d | %s |" % (name, label, cat[:40], n, " | ".join(cells)))

print()
print("Status histograms (status: count; -1 = closed without a status line, -2 = timeout):")
print()
for name, _path, _desc in corpora:
    for t, lab in targets:
        print("- %s, %s: %s" % (name, lab, histogram(name, t)))
