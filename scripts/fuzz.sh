#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a while (default 300 s each).
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Works on the stable toolchain: cargo-fuzz needs nightly flags
# (-Zsanitizer), which RUSTC_BOOTSTRAP=1 unlocks. cargo-fuzz is installed
# when missing. Builds go to $CARGO_TARGET_DIR (default target/fuzz).
# Corpora grow in fuzz/corpus/<target>/ (kept between runs, not committed);
# a crash stops its target, is saved under fuzz/artifacts/<target>/, and
# makes the script exit non-zero after the other targets ran. Reproduce one
# with: RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-300}"
shift || true
case "$secs" in
  '' | *[!0-9]*) echo "fuzz.sh: seconds-per-target must be a number, got '$secs' (usage: scripts/fuzz.sh [seconds] [target...])" >&2; exit 2 ;;
esac

# cargo-fuzz's default build: optimized, with debug assertions and overflow
# checks (an arithmetic overflow on hostile input is a bug; -O would hide it).
# The workspace forbids unsafe code, so AddressSanitizer finds little that a
# panic would not; without it the build is faster and runs do more cases.
# FUZZ_SANITIZER=address scripts/fuzz.sh ... turns it back on.
sanitizer="${FUZZ_SANITIZER:-none}"

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/fuzz}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install --locked cargo-fuzz
fi

cd fuzz
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

echo "== building ${#targets[@]} fuzz targets"
cargo fuzz build -s "$sanitizer"

failed=()
for t in "${targets[@]}"; do
  start=$(date +%s)
  log=$(mktemp)
  # -rss_limit_mb: a parser that balloons on small input is a bug too.
  if cargo fuzz run -s "$sanitizer" "$t" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      >"$log" 2>&1; then
    status=ok
  else
    status=CRASH
    failed+=("$t")
  fi
  execs=$(grep -aEo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -aEo '[0-9]+$' | tail -1 || true)
  printf '%-10s %-6s %8s execs in %4ss\n' "$t" "$status" "${execs:-?}" "$(( $(date +%s) - start ))"
  if [ "$status" = CRASH ]; then
    grep -aE 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -20 || true
  fi
  rm -f "$log"
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]} (inputs under fuzz/artifacts/; fix the parser and keep the input as a unit test in its crate)" >&2
  exit 1
fi
