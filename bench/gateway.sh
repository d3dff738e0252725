#!/usr/bin/env bash
# Throughput and latency of the upstream alone, the gateway with the engine
# off, and the gateway with the engine on, measured in one run with wrk on
# loopback, bounded in time. Prints a table and the ratios against the
# upstream and against the engine-off gateway.
#
#   bench/gateway.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-10}"
CONNS="${2:-32}"
OUT=bench/out
mkdir -p "$OUT"; rm -rf "$OUT"/data-*
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -p palisade >/dev/null
BIN=target/release/palisade

UP=127.0.0.1:19100; GW_OFF=127.0.0.1:19101; GW_ON=127.0.0.1:19102
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

"$BIN" demo-api --listen "$UP" >/dev/null 2>&1 & pids+=($!)
"$BIN" gateway --listen "$GW_OFF" --upstream "http://$UP" --mode off --console "" --data-dir "$OUT/data-off" 2>/dev/null & pids+=($!)
# Engine on in detect mode: every request is fully inspected, attributed to an
# actor, catalogued and stored, but nothing is blocked (a load generator from
# one address is a flood, and 403s are cheaper than forwarding).
"$BIN" gateway --listen "$GW_ON" --upstream "http://$UP" --mode detect --console "" --data-dir "$OUT/data-on" 2>/dev/null & pids+=($!)
for a in $UP $GW_OFF $GW_ON; do
  for _ in $(seq 50); do curl -fs "http://$a/api/v1/products" >/dev/null 2>&1 && break; sleep 0.1; done
done

cat > "$OUT/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"amount":1999,"currency":"eur","description":"Order for Aoife O\'Brien: select plan","card":{"number":"4242424242424242","exp_month":12,"exp_year":2028,"cvc":"123"},"metadata":{"order_id":"ord_8f2k3","note":"drop at reception, union street"}}'
LUA

run() { # name addr path [script]
  local name=$1 addr=$2 path=$3 script=${4:-}
  local args=(-t2 -c"$CONNS" -d"${DUR}s" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" "http://$addr$path" > "$OUT/$name.txt" 2>&1
  local rps p50 p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/$name.txt")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$OUT/$name.txt")
  p50=$(awk '$1=="50%" {print $2}' "$OUT/$name.txt")
  p99=$(awk '$1=="99%" {print $2}' "$OUT/$name.txt")
  printf "%-28s %12s %10s %10s %10s\n" "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
  echo "$name $rps" >> "$OUT/rps.txt"
}

: > "$OUT/rps.txt"
echo "wrk: 2 threads, $CONNS connections, ${DUR}s per run, loopback, $(nproc) cores"
printf "%-28s %12s %10s %10s %10s\n" "target" "req/s" "p50" "p99" "non-2xx"
run upstream-get      $UP     /api/v1/products
run gateway-off-get   $GW_OFF /api/v1/products
run gateway-on-get    $GW_ON  /api/v1/products
run upstream-post     $UP     /api/v1/charges "$OUT/post.lua"
run gateway-off-post  $GW_OFF /api/v1/charges "$OUT/post.lua"
run gateway-on-post   $GW_ON  /api/v1/charges "$OUT/post.lua"

echo
echo "ratios (req/s):"
awk '{r[$1]=$2} END {
  for (m in a) {}
  printf "  gateway-off / upstream   GET %.2f  POST %.2f\n", r["gateway-off-get"]/r["upstream-get"], r["gateway-off-post"]/r["upstream-post"];
  printf "  gateway-on  / upstream   GET %.2f  POST %.2f\n", r["gateway-on-get"]/r["upstream-get"], r["gateway-on-post"]/r["upstream-post"];
  printf "  gateway-on  / gateway-off GET %.2f  POST %.2f  (cost of inspection, analysis and storage)\n", r["gateway-on-get"]/r["gateway-off-get"], r["gateway-on-post"]/r["gateway-off-post"];
}' "$OUT/rps.txt"
