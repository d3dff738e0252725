#!/usr/bin/env bash
# Side-by-side benchmark: Palisade against nginx and nginx + ModSecurity v3 +
# OWASP CRS (Debian's packages), in one run, on loopback, bounded in time.
#
# 1. Load: wrk against (1) the upstream alone, (2) nginx as a plain reverse
#    proxy, (3) nginx + ModSecurity + CRS (PL1, anomaly blocking, request
#    bodies and JSON parsed), (4) Palisade with the engine off (route mode
#    off), (5) Palisade with everything on (block mode: detection, actors,
#    catalog, incidents, store; actor responses not enforced). GET with a
#    query string and POST with a ~240-byte JSON body. Per target: req/s, p50,
#    p99, non-2xx, and CPU (user+sys seconds of the proxy's processes per
#    1,000 requests, from /proc/<pid>/stat: nginx master + workers summed;
#    Palisade is one process, its stat covers all its threads).
# 2. Detection: the same corpora replayed (tools/replay.py, byte for byte)
#    through nginx + ModSecurity + CRS and through Palisade in block mode:
#    TPR on attacks and FPR on benign requests, per corpus, side by side.
#
# Prints Markdown tables and writes them to bench/results/compare-<date>.md.
#
#   bench/compare.sh [options]
#     --duration S        seconds per wrk run (default 10)
#     --warmup S          warm-up seconds before each run (default 2)
#     --connections N     wrk connections (default 32); --threads N (default 2)
#     --rounds N          repeat the load runs N times, targets interleaved,
#                         and report the round with the median req/s (default 1)
#     --upstream static|demo
#                         static: a one-worker nginx answering a fixed JSON
#                         document (default); demo: `palisade demo-api`
#                         (its POST /api/v1/charges is CPU-bound and becomes
#                         the bottleneck on two cores)
#     --httpparams-sample N   rows drawn from httpparams (default 6000, 0 = all 62,134)
#     --libinjection-sample N rows drawn from libinjection (default 0 = all 19,215)
#     --crs-pl N          replay CRS regression tests of rules at PL <= N (default 1)
#     --workers N         replay.py concurrency (default 16)
#     --replay-timeout S  replay.py socket timeout (default 5; a few CRS tests
#                         send less body than announced and always time out)
#     --no-load | --no-replay   skip a phase
#     --out FILE          results file (default bench/results/compare-<date>.md)
#   Environment: PALISADE_BIN (an already-built binary; otherwise
#   `cargo build --release -p palisade` is run), PALISADE_DATA (the corpora,
#   default ../shared/data beside the tree), REPLAY (tools/replay.py),
#   BASE_PORT (default 19300; uses BASE_PORT..BASE_PORT+6), KEEP_TMP=1.
#
# Defaults take 3-5 minutes on two shared cores (3.3 min at a load average of
# 5-8, 4.5 min at 10; --rounds 3 about 8), excluding the install and the
# build. Everything it starts listens on 127.0.0.1 only and is stopped on
# exit; all files but the results file live in a temp dir removed on exit.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
here="$root/bench/compare"
ARGS=("$@")
DUR=10 WARM=2 CONNS=32 THREADS=2 ROUNDS=1 UPSTREAM=static
HP_SAMPLE=6000 LI_SAMPLE=0 CRS_PL=1 WORKERS=16 RTIMEOUT=5 DO_LOAD=1 DO_REPLAY=1 OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DUR=$2; shift 2 ;;
    --warmup) WARM=$2; shift 2 ;;
    --connections) CONNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --upstream) UPSTREAM=$2; shift 2 ;;
    --httpparams-sample) HP_SAMPLE=$2; shift 2 ;;
    --libinjection-sample) LI_SAMPLE=$2; shift 2 ;;
    --crs-pl) CRS_PL=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --replay-timeout) RTIMEOUT=$2; shift 2 ;;
    --no-load) DO_LOAD=0; shift ;;
    --no-replay) DO_REPLAY=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$UPSTREAM" in static|demo) ;; *) echo "--upstream static|demo" >&2; exit 2 ;; esac

# --- tools -------------------------------------------------------------------
MODSEC_SO=/usr/lib/nginx/modules/ngx_http_modsecurity_module.so
missing=()
command -v nginx >/dev/null || missing+=(nginx)
[[ -f $MODSEC_SO ]] || missing+=(libnginx-mod-http-modsecurity)
[[ -d /usr/share/modsecurity-crs/rules ]] || missing+=(modsecurity-crs)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "installing: ${missing[*]}" >&2
  # Debian's policy-rc.d (or its absence in a container) decides whether the
  # packaged nginx service starts; this script never uses it.
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ -n "${PALISADE_BIN:-}" ]]; then
  BIN=$PALISADE_BIN
else
  (cd "$root" && cargo build --release -q -p palisade)
  BIN="${CARGO_TARGET_DIR:-$root/target}/release/palisade"
fi
[[ -x $BIN ]] || { echo "no palisade binary at $BIN" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

DATA="${PALISADE_DATA:-}"
if [[ -z $DATA ]]; then
  for d in "$root/../shared/data" "$root/shared/data" /work/shared/data; do
    [[ -d $d ]] && { DATA=$(cd "$d" && pwd); break; }
  done
fi
REPLAY="${REPLAY:-}"
if [[ -z $REPLAY ]]; then
  for f in "$root/tools/replay.py" "${DATA:-/nonexistent}/../tools/replay.py" /work/shared/tools/replay.py; do
    [[ -f $f ]] && { REPLAY=$f; break; }
  done
fi
if [[ $DO_REPLAY == 1 && ( -z $DATA || -z $REPLAY ) ]]; then
  echo "corpora or replay.py not found (set PALISADE_DATA / REPLAY, or --no-replay)" >&2; exit 1
fi

# --- temp dir, processes, cleanup ---------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/palisade-compare.XXXXXX")
# Palisade's stores (capped at 256 MiB each), ModSecurity's audit log and the
# access logs took 0.5-1.5 GiB (--rounds 3) on this machine.
free_kib=$(df -Pk "$TMP" | awk 'NR == 2 {print $4}')
if [[ ${free_kib:-0} -lt 1048576 ]]; then
  echo "only $((free_kib / 1024)) MiB free under $TMP; 1 GiB needed (set TMPDIR, e.g. /dev/shm)" >&2; rm -rf "$TMP"; exit 1
fi
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BASE_PORT=${BASE_PORT:-19300}
P_UP=$BASE_PORT P_NGX=$((BASE_PORT + 1)) P_MSC=$((BASE_PORT + 2))
P_OFF=$((BASE_PORT + 3)) P_ON=$((BASE_PORT + 4)) P_ON_CONSOLE=$((BASE_PORT + 5))
P_OFF_CONSOLE=$((BASE_PORT + 6))
for p in $P_UP $P_NGX $P_MSC $P_OFF $P_ON $P_ON_CONSOLE $P_OFF_CONSOLE; do
  if ss -Hltn "sport = :$p" | grep -q .; then echo "port $p is in use (set BASE_PORT)" >&2; exit 1; fi
done

fill() { # template name port [extra sed args...]
  local tpl=$1 name=$2 port=$3; shift 3
  sed -e "s#@TMP@#$TMP#g" -e "s#@NAME@#$name#g" -e "s#@PORT@#$port#g" \
      -e "s#@UPSTREAM_PORT@#$P_UP#g" "$@" "$tpl"
}
start_nginx() { # name conf
  local name=$1
  mkdir -p "$TMP/$name"
  nginx -t -q -p "$TMP/$name" -e "$TMP/$name/error.log" -c "$TMP/$name/nginx.conf"
  nginx -p "$TMP/$name" -e "$TMP/$name/error.log" -c "$TMP/$name/nginx.conf" &
  pids+=($!)
  eval "PID_$(echo "$name" | tr -c 'a-zA-Z0-9\n' _)=$!"
}

# upstream
mkdir -p "$TMP/upstream"
if [[ $UPSTREAM == static ]]; then
  fill "$here/upstream.conf.in" upstream 0 > "$TMP/upstream/nginx.conf"
  start_nginx upstream
  UP_DESC="a static one-worker nginx (fixed 200-byte JSON answer to any request)"
else
  "$BIN" demo-api --listen "127.0.0.1:$P_UP" > "$TMP/upstream/log" 2>&1 &
  pids+=($!); PID_upstream=$!
  UP_DESC="palisade demo-api (axum)"
fi
# nginx, plain
mkdir -p "$TMP/nginx"
fill "$here/nginx-proxy.conf.in" nginx "$P_NGX" -e "s#@LOAD_MODULE@##" -e "s#@MODSEC@##" > "$TMP/nginx/nginx.conf"
start_nginx nginx
# nginx + ModSecurity + CRS
mkdir -p "$TMP/modsec/tmp" "$TMP/modsec/data"
fill "$here/modsecurity.conf.in" modsec 0 > "$TMP/modsec/main.conf"
fill "$here/nginx-proxy.conf.in" modsec "$P_MSC" \
  -e "s#@LOAD_MODULE@#load_module $MODSEC_SO;#" \
  -e "s#@MODSEC@#modsecurity on; modsecurity_rules_file $TMP/modsec/main.conf;#" > "$TMP/modsec/nginx.conf"
start_nginx modsec
# Palisade, engine off and everything on
for v in off on; do
  mkdir -p "$TMP/palisade-$v"
  if [[ $v == off ]]; then mode=off cport=$P_OFF_CONSOLE port=$P_OFF; else mode=block cport=$P_ON_CONSOLE port=$P_ON; fi
  fill "$here/palisade.toml.in" "palisade-$v" "$port" -e "s#@MODE@#$mode#" -e "s#@CONSOLE_PORT@#$cport#" \
    > "$TMP/palisade-$v/palisade.toml"
  "$BIN" run --config "$TMP/palisade-$v/palisade.toml" > "$TMP/palisade-$v/log" 2>&1 &
  pids+=($!); eval "PID_palisade_$v=$!"
done

H=(-H "Host: api.example.com" -H "User-Agent: bench-client/1.0" -H "Accept: application/json")
GET_PATH="/api/v1/search?q=blue+shirt&limit=20&page=2"
POST_PATH="/api/v1/charges"
BODY='{"amount":1999,"currency":"eur","description":"Order for Aoife O'"'"'Brien: select plan","card":{"number":"4242424242424242","exp_month":12,"exp_year":2028,"cvc":"123"},"metadata":{"order_id":"ord_8f2k3","note":"drop at reception, union street"}}'
cat > "$TMP/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"amount":1999,"currency":"eur","description":"Order for Aoife O\'Brien: select plan","card":{"number":"4242424242424242","exp_month":12,"exp_year":2028,"cvc":"123"},"metadata":{"order_id":"ord_8f2k3","note":"drop at reception, union street"}}'
LUA

for port in $P_UP $P_NGX $P_MSC $P_OFF $P_ON; do
  ok=0
  for _ in $(seq 100); do
    if curl -fs -o /dev/null "${H[@]}" "http://127.0.0.1:$port$GET_PATH"; then ok=1; break; fi
    sleep 0.1
  done
  [[ $ok == 1 ]] || { echo "127.0.0.1:$port did not come up; logs in $TMP (KEEP_TMP=1 keeps them)" >&2; tail -5 "$TMP"/*/log "$TMP"/*/error.log >&2 || true; exit 1; }
done

# The processes whose CPU is counted for a target: nginx master + workers, or
# the Palisade / demo-api process (its /proc stat sums all its threads).
procs() {
  local master=$1
  echo "$master"
  ps -o pid= --ppid "$master" 2>/dev/null || true
}
ticks() { # sum of utime+stime over the given pids and their children
  local s=0 p v
  for p in $(for m in "$@"; do procs "$m"; done); do
    v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
    s=$((s + ${v:-0}))
  done
  echo "$s"
}
HZ=$(getconf CLK_TCK)
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

date_utc=$(date -u +%Y-%m-%d)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(loadavg)
uptime_start=$(uptime)
metric() { # console-port name -> value (sum over label sets)
  curl -fs "http://127.0.0.1:$1/metrics" 2>/dev/null | awk -v n="$2" '$1 == n || index($1, n "{") == 1 {s += $2} END {printf "%d", s}'
}

# --- 1. load -------------------------------------------------------------------
TARGETS=(upstream nginx modsec palisade_off palisade_on)
declare -A PORT=([upstream]=$P_UP [nginx]=$P_NGX [modsec]=$P_MSC [palisade_off]=$P_OFF [palisade_on]=$P_ON)
declare -A LABEL=([upstream]="upstream alone" [nginx]="nginx (plain proxy)" [modsec]="nginx + ModSecurity + CRS"
  [palisade_off]="Palisade, engine off" [palisade_on]="Palisade, everything on")
PIDOF() { local v="PID_$1"; echo "${!v}"; }

run_wrk() { # target method round
  local t=$1 m=$2 r=$3 port=${PORT[$1]} url args
  args=(-t"$THREADS" -c"$CONNS" --latency --timeout 10s "${H[@]}")
  if [[ $m == GET ]]; then url="http://127.0.0.1:$port$GET_PATH"; else url="http://127.0.0.1:$port$POST_PATH"; args+=(-s "$TMP/post.lua"); fi
  [[ $WARM -gt 0 ]] && wrk "${args[@]}" -d"${WARM}s" "$url" > /dev/null 2>&1
  local shed0=0 shed1=0
  [[ $t == palisade_on ]] && shed0=$(metric "$P_ON_CONSOLE" palisade_pipeline_shed_total)
  local p0 u0 p1 u1
  p0=$(ticks "$(PIDOF "$t")"); u0=$(ticks "$PID_upstream")
  wrk "${args[@]}" -d"${DUR}s" "$url" > "$TMP/wrk.$t.$m.$r.txt" 2>&1 || true
  if ! grep -q 'Requests/sec' "$TMP/wrk.$t.$m.$r.txt"; then
    echo "wrk against $t ($m) gave no result: $(tail -2 "$TMP/wrk.$t.$m.$r.txt" 2>&1); df: $(df -h "$TMP" | tail -1)" >&2
    exit 1
  fi
  # Work deferred past the last response (Palisade's analysis and store
  # writes, nginx's buffered log) belongs to the run: wait until the proxy
  # is idle (at most 1 tick in 0.5 s, up to 20 s) before reading its CPU.
  local prev cur settle=0
  prev=$(ticks "$(PIDOF "$t")")
  for _ in $(seq 40); do
    sleep 0.5; settle=$((settle + 1))
    cur=$(ticks "$(PIDOF "$t")")
    [[ $((cur - prev)) -le 1 ]] && break
    prev=$cur
  done
  p1=$(ticks "$(PIDOF "$t")"); u1=$(ticks "$PID_upstream")
  [[ $t == palisade_on ]] && shed1=$(metric "$P_ON_CONSOLE" palisade_pipeline_shed_total)
  awk -v t="$t" -v m="$m" -v r="$r" -v pt=$((p1 - p0)) -v ut=$((u1 - u0)) -v hz="$HZ" -v shed=$((shed1 - shed0)) -v settle="$settle" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v }
    /requests in/ { n = $1 }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { non2xx = $5 }
    /Socket errors/ { gsub(",", ""); err = $4 + $6 + $8 + $10 }
    END { printf "%s %s %s %.2f %.3f %.3f %d %d %.4f %.4f %d %d %.1f\n", t, m, r, rps, p50, p99, non2xx, err,
            (n ? pt / hz / n * 1000 : 0), (n ? ut / hz / n * 1000 : 0), n, shed, settle / 2 }' "$TMP/wrk.$t.$m.$r.txt" >> "$TMP/load.txt"
}

: > "$TMP/load.txt"
if [[ $DO_LOAD == 1 ]]; then
  echo "load: wrk -t$THREADS -c$CONNS, ${WARM}s warm-up + ${DUR}s per run, $ROUNDS round(s); upstream: $UP_DESC" >&2
  for r in $(seq "$ROUNDS"); do
    for m in GET POST; do
      for t in "${TARGETS[@]}"; do
        run_wrk "$t" "$m" "$r"
        tail -1 "$TMP/load.txt" | awk '{printf "  %-13s %-4s round %s: %9.0f req/s  p50 %.2f ms  p99 %.2f ms\n", $1, $2, $3, $4, $5, $6}' >&2
      done
    done
  done
fi
load_mid=$(loadavg)

# --- 2. detection --------------------------------------------------------------
: > "$TMP/corpora.tsv"
mkdir -p "$TMP/replay"
if [[ $DO_REPLAY == 1 ]]; then
  python3 "$here/corpora.py" "$TMP/replay" "$DATA" "$root/crates/palisade-detect/testdata/benign-payments.jsonl" \
    --httpparams-sample "$HP_SAMPLE" --libinjection-sample "$LI_SAMPLE" --crs-pl "$CRS_PL" > "$TMP/corpora.tsv"
  while IFS=$'\t' read -r name path desc; do
    for t in modsec palisade_on; do
      echo "replay: $name ($desc) -> ${LABEL[$t]}" >&2
      python3 "$REPLAY" "$path" --port "${PORT[$t]}" --workers "$WORKERS" --timeout "$RTIMEOUT" \
        --out "$TMP/replay/$name.$t.jsonl" > "$TMP/replay/$name.$t.txt" 2>&1 \
        || echo "  replay failed: $(tail -1 "$TMP/replay/$name.$t.txt")" >&2
      grep -E '^(sent|TPR|TNR)' "$TMP/replay/$name.$t.txt" | sed 's/^/  /' >&2 || true
    done
  done < "$TMP/corpora.tsv"
fi
load_end=$(loadavg)
echo "temp dir used: $(du -sh "$TMP" 2>/dev/null | cut -f1)" >&2
uptime_end=$(uptime)

# --- report --------------------------------------------------------------------
nginx_v=$(nginx -v 2>&1 | sed 's/.*nginx\///')
modsec_v=$(dpkg-query -W -f='${Version}' libmodsecurity3 2>/dev/null || echo "?")
conn_v=$(dpkg-query -W -f='${Version}' libnginx-mod-http-modsecurity 2>/dev/null || echo "?")
crs_v=$(dpkg-query -W -f='${Version}' modsecurity-crs 2>/dev/null || echo "?")
pal_v=$("$BIN" --version 2>/dev/null || echo palisade)
report() {
  echo "# Side-by-side: Palisade vs nginx + ModSecurity + OWASP CRS"
  echo
  echo "\`bench/compare.sh$( [[ $# -gt 0 ]] && printf ' %s' "$@")\` — started $started on $(hostname), $(nproc) cores,"
  echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo). Load average (1/5/15 min): $load_start at the start,"
  echo "$load_mid after the load phase, $load_end at the end."
  echo
  echo "Versions: $pal_v; nginx $nginx_v; libmodsecurity3 $modsec_v with the connector $conn_v;"
  echo "OWASP CRS $crs_v (paranoia level 1, anomaly threshold 5, blocking; request bodies parsed, JSON"
  echo "by Debian's rule 200001; PUT, PATCH, DELETE allowed by rule 900200). Palisade: block mode, default"
  echo "sensitivity, actor responses not enforced. Upstream: $UP_DESC."
  if [[ $DO_LOAD == 1 ]]; then
    echo
    echo "## Throughput, latency, CPU"
    echo
    echo "wrk -t$THREADS -c$CONNS on loopback, ${WARM}s warm-up then ${DUR}s per run; $ROUNDS round(s), the round with the median"
    echo "req/s is shown. GET \`$GET_PATH\`; POST \`$POST_PATH\` with a ${#BODY}-byte JSON"
    echo "body. CPU: user+sys seconds per 1,000 requests of the proxy's processes (nginx: master +"
    echo "workers; Palisade: its one process, all threads), and of the upstream."
    echo
    echo "| target | method | req/s | p50 ms | p99 ms | non-2xx / errors | proxy CPU s/1k req | upstream CPU s/1k req |"
    echo "|---|---|---|---|---|---|---|---|"
    for m in GET POST; do
      for t in "${TARGETS[@]}"; do
        awk -v t="$t" -v m="$m" '$1 == t && $2 == m' "$TMP/load.txt" | sort -k4,4g | awk -v lab="${LABEL[$t]}" '
          { l[NR] = $0 } END { if (!NR) exit; split(l[int((NR + 1) / 2)], f, " ");
            printf "| %s | %s | %.0f | %.2f | %.2f | %d / %d | %s | %.3f |\n", lab, f[2], f[4], f[5], f[6], f[7], f[8],
              (f[1] == "upstream" ? "–" : sprintf("%.3f", f[9])), f[10] }'
      done
    done
    echo
    awk '{ k = $1 " " $2; n[k]++; rps[k, n[k]] = $4; cpu[k, n[k]] = $9; shed[k] += $12; if ($13 > settle[$1]) settle[$1] = $13 }
      function med(k, a,   i, j, c, t, v) { c = n[k]; for (i = 1; i <= c; i++) v[i] = a[k, i];
        for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return v[int((c + 1) / 2)] }
      END {
        for (mi = 1; mi <= 2; mi++) { m = (mi == 1 ? "GET" : "POST");
          printf "- %s: req/s ModSecurity+CRS / nginx %.3f; Palisade on / Palisade off %.2f; Palisade on / ModSecurity+CRS %.1f×; proxy CPU per request: ModSecurity+CRS %.0f× nginx, Palisade on %.1f× Palisade off, ModSecurity+CRS %.1f× Palisade on\n", m,
            med("modsec " m, rps) / med("nginx " m, rps), med("palisade_on " m, rps) / med("palisade_off " m, rps),
            med("palisade_on " m, rps) / med("modsec " m, rps),
            med("modsec " m, cpu) / med("nginx " m, cpu), med("palisade_on " m, cpu) / med("palisade_off " m, cpu),
            med("modsec " m, cpu) / med("palisade_on " m, cpu) }
        printf "- Palisade on: %d exchanges shed by the analysis pipeline during the measured runs (palisade_pipeline_shed_total).\n", shed["palisade_on GET"] + shed["palisade_on POST"]
        printf "- CPU is read once the proxy is idle again after wrk stops (deferred analysis and log writes count); longest wait: Palisade on %.1f s, Palisade off %.1f s, ModSecurity %.1f s, nginx %.1f s.\n", settle["palisade_on"], settle["palisade_off"], settle["modsec"], settle["nginx"] }' "$TMP/load.txt"
  fi
  if [[ $DO_REPLAY == 1 ]]; then
    echo
    echo "## Detection: the same corpora through both, blocking"
    echo
    echo "Palisade in block mode at its default sensitivity (actor responses not enforced, so every"
    echo "request is judged on its own, as ModSecurity judges it); ModSecurity + CRS as above."
    echo
    python3 "$here/detection.py" "$TMP/corpora.tsv" "$TMP/replay" modsec:"ModSecurity+CRS" palisade_on:"Palisade"
  fi
}
mkdir -p "$root/bench/results"
if [[ -z $OUT ]]; then
  OUT="$root/bench/results/compare-$date_utc.md"
  [[ -e $OUT ]] && OUT="$root/bench/results/compare-$date_utc-$(date -u +%H%M).md"
fi
report "${ARGS[@]}" > "$TMP/report.md"
cp "$TMP/report.md" "$OUT"
cat "$OUT"
echo >&2
echo "uptime at start: $uptime_start" >&2
echo "uptime at end:   $uptime_end" >&2
echo "written to $OUT" >&2
