#!/usr/bin/env bash
# Detection quality: replays the development corpora and the generated benign
# payments traffic through palisade-detect in process and prints TPR / FPR per
# category, for the default sensitivity and (with --all-levels) every level.
# benign-tricky.jsonl holds hand-written legitimate look-alikes of attack
# shapes (command words opening a sentence, prices in `${..}`, `(a)(b)`).
#
#   bench/quality.sh [--all-levels] [--details]
#
# Corpora: shared/data/{crs-regression,libinjection,httpparams}/requests.jsonl
# (found beside the work tree, or under $PALISADE_DATA) and
# crates/palisade-detect/testdata/benign-payments.jsonl.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${PALISADE_DATA:-}"
if [[ -z "$data" ]]; then
  for d in "$root/../shared/data" "$root/shared/data" /work/shared/data; do
    if [[ -d "$d" ]]; then data="$d"; break; fi
  done
fi
levels=(balanced)
extra=()
for a in "$@"; do
  case "$a" in
    --all-levels) levels=(low balanced high paranoid) ;;
    --details) extra+=(--details) ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done

files=("$root/crates/palisade-detect/testdata/benign-payments.jsonl"
  "$root/crates/palisade-detect/testdata/benign-tricky.jsonl")
if [[ -n "$data" ]]; then
  for c in crs-regression libinjection httpparams; do
    [[ -f "$data/$c/requests.jsonl" ]] && files+=("$data/$c/requests.jsonl")
  done
else
  echo "note: shared/data not found (set PALISADE_DATA); only the benign payments corpus is replayed" >&2
fi

cd "$root"
for level in "${levels[@]}"; do
  cargo run --quiet --release -p palisade-detect --example quality -- --sensitivity "$level" "${extra[@]}" "${files[@]}"
done
