#!/usr/bin/env python3
"""Prepare the corpora that bench/compare.sh replays, into its temp dir.

    corpora.py OUTDIR DATA_DIR BENIGN_PAYMENTS [--httpparams-sample N]
               [--libinjection-sample N] [--crs-pl N] [--seed S]

Writes one JSONL file per corpus (the format of shared/data/README.md) and
prints "name<TAB>path<TAB>description" per file on stdout. Samples are drawn
with a fixed seed, so every proxy gets the very same rows. A sample of 0 means
the whole file.

- libinjection: SQLi / XSS attack strings and its false-positive list (benign).
- httpparams: CSIC-2010 benign values and sqli / xss / traversal / cmdi, GET
  and POST.
- crs-regression: only the request-side attack tests of rules at paranoia level
  <= --crs-pl (default 1: what CRS at its default paranoia level 1 is meant to
  catch). Its "nonmatch" rows are no clean benign label and are left out.
- benign-payments: Palisade's generated benign payments traffic (JSON, form,
  multipart, XML, query), benign only.
"""
import argparse
import json
import os
import random
import sys

ap = argparse.ArgumentParser()
ap.add_argument("outdir")
ap.add_argument("data")
ap.add_argument("benign_payments")
ap.add_argument("--httpparams-sample", type=int, default=6000)
ap.add_argument("--libinjection-sample", type=int, default=0)
ap.add_argument("--crs-pl", type=int, default=1)
ap.add_argument("--seed", type=int, default=42)
a = ap.parse_args()


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def sample(rows, n):
    if n and n < len(rows):
        rng = random.Random(a.seed)
        # keep the file order of the drawn rows (stable, easy to diff)
        idx = sorted(rng.sample(range(len(rows)), n))
        rows = [rows[i] for i in idx]
    return rows


def write(name, rows, desc):
    path = os.path.join(a.outdir, name + ".jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print("%s\t%s\t%s" % (name, path, desc))


def corpus(name):
    p = os.path.join(a.data, name, "requests.jsonl")
    if not os.path.isfile(p):
        print("note: %s not found, skipped" % p, file=sys.stderr)
        return None
    return load(p)


rows = corpus("libinjection")
if rows is not None:
    n = len(rows)
    rows = sample(rows, a.libinjection_sample)
    write("libinjection", rows, "all %d rows" % n if len(rows) == n else "%d of %d rows (seed %d)" % (len(rows), n, a.seed))

rows = corpus("httpparams")
if rows is not None:
    n = len(rows)
    rows = sample(rows, a.httpparams_sample)
    write("httpparams", rows, "all %d rows" % n if len(rows) == n else "%d of %d rows (seed %d)" % (len(rows), n, a.seed))

rows = corpus("crs-regression")
if rows is not None:
    keep = [
        r for r in rows
        if r["label"] == "attack"
        and not r.get("meta", {}).get("response_side")
        and isinstance(r.get("meta", {}).get("rule_pl"), int)
        and r["meta"]["rule_pl"] <= a.crs_pl
    ]
    write("crs-regression", keep, "request-side attack tests of PL<=%d rules, %d of %d rows" % (a.crs_pl, len(keep), len(rows)))

if os.path.isfile(a.benign_payments):
    rows = load(a.benign_payments)
    write("benign-payments", rows, "all %d rows" % len(rows))
else:
    print("note: %s not found, skipped" % a.benign_payments, file=sys.stderr)
