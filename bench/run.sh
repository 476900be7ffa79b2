#!/usr/bin/env bash
# cent-run benchmark: one run, every contender side by side on the same local
# Centrifugo 6.9.1, so the RATIOS are comparable (absolute numbers on a shared
# 2-core machine are noise). See BENCHMARKS.md for the method and the results.
#
#   bench/run.sh            # everything; raw output also saved to bench/results-latest.txt
#   BENCH_ONLY=sdk bench/run.sh
#                           # only the throughput contenders against the hand-written
#                           # SDK program: cent-run (keys), sdk (keys), sdk (no keys),
#                           # cent-run --no-idempotency; a short summary (~1 min)
#   BENCH_N=200000 BENCH_ONLY=sdk bench/run.sh
#                           # the same with 200,000 publishes (~2 min)
#
# Every timed run of a contender also runs under /usr/bin/time: the summary
# gives the median wall time, the median CPU time (user+sys) and the median
# peak RSS of each, and their ratios (the CPU a command costs, not only how
# fast the machine's two shared cores let it go).
#
# Environment (all optional):
#   BENCH_TARGET_DIR  cargo target dir for the release build (default target/bench,
#                     separate from target/ so it never waits on another cargo's lock)
#   BENCH_OUT         where to save the raw output (default bench/results-latest.txt;
#                     bench/results-sdk-latest.txt with BENCH_ONLY=sdk;
#                     bench/results-sdk-200000-latest.txt with BENCH_N=200000 too)
#   BENCH_N           publishes in the throughput manifest (default 20000)
#   WRK_SECONDS       length of one wrk run with pre-built bodies (default 10)
#   WRK_KEYED_SECONDS length of one wrk run with keyed bodies (default 3; each needs a
#                     fresh server and enough unique bodies, see WRK_KEYED_BODIES)
#   WRK_KEYED_BODIES  keyed bodies generated (default 8000, ~105 MB in /tmp)
#   BENCH_IDLE_WAIT   at most this many seconds to wait for loadavg < 1 first (default 180)
#   BENCH_ONLY        `sdk`: run only the subset above (default: everything)
#   BENCH_CENT_RUN    a cent-run binary to measure instead of building one (e.g. a
#                     build of another commit while the working tree does not build)
#
# Exit code: 0 when every contender ran and every correctness check passed,
# whether or not the performance targets were met (the summary says PASS/FAIL);
# non-zero when something failed (a non-zero cent-run exit, a report that is not
# all ok, an error reply seen by the Python client or wrk, a tool missing).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${BENCH_TARGET_DIR:-$ROOT/target/bench}"
WRK_SECONDS="${WRK_SECONDS:-10}"
WRK_KEYED_SECONDS="${WRK_KEYED_SECONDS:-3}"
WRK_KEYED_BODIES="${WRK_KEYED_BODIES:-8000}"
N_RUN="${BENCH_N:-20000}"  # publishes in the throughput manifest
N_RUN_LARGE=100000  # publishes in the larger end-to-end manifest (extra)
CHANNELS=20
BATCH=100
CONC=4
N_CHECK=100000   # commands in the validate-only manifest
BENCH_ONLY="${BENCH_ONLY:-}"
case "$BENCH_ONLY" in
  "" | sdk) ;;
  *) echo "bench: BENCH_ONLY must be empty or 'sdk', not '$BENCH_ONLY'" >&2; exit 2 ;;
esac
export N_RUN N_RUN_LARGE N_CHECK BATCH CHANNELS CONC BENCH_ONLY
# The subset's raw output goes to a file of its own: results-latest.txt is the full run's.
N_NAME=""
[ "$N_RUN" = 20000 ] || N_NAME="$N_RUN-"
OUT="${BENCH_OUT:-$ROOT/bench/results-${BENCH_ONLY:+$BENCH_ONLY-}${N_NAME}latest.txt}"

exec > >(tee "$OUT") 2>&1

WORK="$(mktemp -d /tmp/cent-run-bench.XXXXXX)"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n### %s\n' "$*"; }
die() { echo "bench: FAILED: $*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
say "tools"
# shellcheck source=scripts/lib/apt.sh
source scripts/lib/apt.sh
apt_install wrk wrk
apt_install hyperfine hyperfine
apt_install /usr/bin/time time
scripts/install-centrifugo.sh >/dev/null
CENTRIFUGO="$ROOT/.tools/bin/centrifugo"
echo "wrk: $(wrk -v 2>&1 | head -1 | cut -c1-40)"
hyperfine --version
echo "centrifugo: $("$CENTRIFUGO" version | head -1)"
VENV="$ROOT/.tools/bench-venv"
if [ -z "$BENCH_ONLY" ]; then  # the subset needs no Python client
if [ ! -f "$VENV/.bench-deps-1" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "cent==5.2.0" "PyYAML==6.0.*"
  touch "$VENV/.bench-deps-1"
fi
PY="$VENV/bin/python"
"$PY" -c 'import yaml; assert yaml.__with_libyaml__, "PyYAML without libyaml"; yaml.CSafeLoader' \
  || die "PyYAML has no libyaml-backed CSafeLoader"
CENT_VERSION="$("$PY" -c 'import importlib.metadata as m; print(m.version("cent"))')"
YAML_VERSION="$("$PY" -c 'import yaml; print(yaml.__version__, "(libyaml", str(yaml.__with_libyaml__) + ")")')"
echo "python: $("$PY" --version), cent $CENT_VERSION, PyYAML $YAML_VERSION"
fi

# ---------------------------------------------------------------- build
if [ -n "${BENCH_CENT_RUN:-}" ]; then
  say "cent-run: the given binary BENCH_CENT_RUN=$BENCH_CENT_RUN (not built here)"
  CR="$BENCH_CENT_RUN"
  [ -x "$CR" ] || die "BENCH_CENT_RUN=$CR is not an executable"
  "$CR" --version
else
  say "build (release, CARGO_TARGET_DIR=$TARGET_DIR)"
  CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --locked --bin cent-run 2>&1 | tail -2
  CR="$TARGET_DIR/release/cent-run"
  "$CR" --version
  echo "source: commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | grep -q . && echo ' + uncommitted changes in src/Cargo files' || true)"
fi
# The hand-written yardstick: bench/sdk, a standalone project on the official
# Centrifugo Rust SDK (crate cent), with its own lock file and target dir.
say "build bench/sdk (release, the hand-written program on the cent SDK)"
CARGO_TARGET_DIR="$ROOT/bench/sdk/target" cargo build --release --locked \
  --manifest-path "$ROOT/bench/sdk/Cargo.toml" 2>&1 | tail -2
SDK="$ROOT/bench/sdk/target/release/sdk-publish"
[ -x "$SDK" ] || die "no $SDK after the build"
echo "sdk-publish on cent $(awk '/^name = "cent"$/ {getline; gsub(/[^0-9.]/, ""); print}' bench/sdk/Cargo.lock)"

# ---------------------------------------------------------------- machine
say "machine"
date
echo "nproc: $(nproc)"
grep -m1 'model name' /proc/cpuinfo || true
free -h
# The machine is shared: wait (bounded, BENCH_IDLE_WAIT seconds, default 180)
# for the 1-minute load average to drop below 1.0 before measuring.
for _ in $(seq 1 $(( ${BENCH_IDLE_WAIT:-180} / 10 ))); do
  awk '{exit !($1 < 1.0)}' /proc/loadavg && break
  echo "waiting for a quieter machine: loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
  sleep 10
done
echo "loadavg before: $(cat /proc/loadavg)"

# ---------------------------------------------------------------- inputs
say "inputs"
python3 bench/gen.py run "$WORK/run.yaml" "$N_RUN" "$CHANNELS"
if [ -n "$BENCH_ONLY" ]; then
  WRK_KEYED_BODIES=1  # the subset needs one keyed body only, for the probe below
else
  python3 bench/gen.py run "$WORK/run-large.yaml" "$N_RUN_LARGE" "$CHANNELS"
  python3 bench/gen.py check "$WORK/check.yaml" "$N_CHECK"
fi
python3 bench/gen.py wrk "$WORK/bodies" 8 "$BATCH" "$CHANNELS"
python3 bench/gen.py wrkkeyed "$WORK/keyed.ndjson" "$WRK_KEYED_BODIES" "$BATCH" "$CHANNELS"
ls -l "$WORK"/*.yaml "$WORK/keyed.ndjson" | awk '{print $5, $9}'
echo "wrk bodies: 8 x $(wc -c <"$WORK/bodies/body-0.json") bytes (pre-built, no keys);" \
  "$WRK_KEYED_BODIES x $(head -1 "$WORK/keyed.ndjson" | wc -c) bytes (pre-built, keyed)"

# ---------------------------------------------------------------- server
say "centrifugo"
# The test config with history (and force_recovery, which needs it) turned off:
# a publish is then a pure broker call, the same for every contender.
python3 - "$ROOT/tests/centrifugo/config.json" "$WORK/config.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
for ns in [c["channel"]["without_namespace"]] + c["channel"].get("namespaces", []):
    for k in ("history_size", "history_ttl", "force_recovery"):
        ns.pop(k, None)
json.dump(c, open(sys.argv[2], "w"), indent=2)
EOF
KEY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_api"]["key"])' "$WORK/config.json")"
# Every contender gets a freshly started server, warmed up for 1 s with key-less
# bodies: idempotency keys stay in the server's cache for 5 minutes, and a cache
# filled by one contender would slow down the next.
start_server() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  URL="http://127.0.0.1:$PORT"
  "$CENTRIFUGO" --config "$WORK/config.json" --http_server.port "$PORT" \
    --http_server.address 127.0.0.1 >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do
    curl -fsS "$URL/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "$URL/health" >/dev/null || { cat "$WORK/server.log"; die "centrifugo did not start"; }
  wrk -t2 -c4 -d1s -s bench/wrk_batch.lua "$URL/api/batch" -- prebuilt "$WORK/bodies" 8 "$KEY" >/dev/null
}
start_server
echo "centrifugo pid $SERVER on $URL (history off)"
# One pre-built body of each kind by hand: 100 replies, none an error.
curl -fsS -H "X-API-Key: $KEY" --data-binary @"$WORK/bodies/body-0.json" "$URL/api/batch" >"$WORK/probe.json"
head -1 "$WORK/keyed.ndjson" | curl -fsS -H "X-API-Key: $KEY" --data-binary @- "$URL/api/batch" >"$WORK/probe-keyed.json"
python3 -c '
import json, sys
for f in sys.argv[1:]:
    r = json.load(open(f))["replies"]
    assert len(r) == 100 and all("publish" in x and "error" not in x for x in r), r[:3]
print("probe batches: 100 publish replies each, no error")' "$WORK/probe.json" "$WORK/probe-keyed.json"

check_report() { # FILE [N]: the JSON report says all N (default N_RUN) commands ok
  python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
want = int(sys.argv[2])
assert s == {"total": want, "ok": want, "failed": 0, "unknown": 0, "skipped": 0}, s
print("report %s: %s" % (sys.argv[1].rsplit("/", 1)[-1], s))' "$1" "${2:-$N_RUN}" || die "report $1 is not all ok"
}

HF=(hyperfine --style basic --runs 3 --warmup 1)
# timed NAME COMMAND...: the command line under /usr/bin/time, one line per run
# (wall, user, sys, peak RSS in KB) appended to $WORK/NAME.cpu for the summary.
timed() {
  local name="$1"
  shift
  echo "/usr/bin/time -f '%e %U %S %M' -a -o $WORK/$name.cpu $*"
}
cr_run() { # MANIFEST: the cent-run command line, against the current server
  echo "$CR $1 --url $URL --api-key $KEY --batch-size $BATCH --concurrency $CONC --retries 3 --quiet"
}

# ---------------------------------------------------------------- 1. cent-run
say "1. cent-run end to end: $N_RUN publishes, batch $BATCH, concurrency $CONC"
start_server
CR_RUN="$(cr_run "$WORK/run.yaml")"
# hyperfine fails on a non-zero exit, so every timed run is asserted to exit 0.
"${HF[@]}" --export-json "$WORK/cent-run.hf.json" -n cent-run \
  "$(timed cent-run "$CR_RUN --report-json $WORK/report.json")"
check_report "$WORK/report.json"
echo "cent-run under /usr/bin/time -v (CPU and peak RSS):"
/usr/bin/time -v -o "$WORK/cent-run.time.txt" $CR_RUN --report-json "$WORK/report-time.json" \
  || die "cent-run exited non-zero under /usr/bin/time"
check_report "$WORK/report-time.json"
grep -E 'User time|System time|Elapsed|Maximum resident' "$WORK/cent-run.time.txt"
echo "where the time goes: parse+validate only (cent-run check on the same manifest):"
"${HF[@]}" --export-json "$WORK/cent-run-check-20k.hf.json" -n "cent-run check ($N_RUN)" \
  "$(timed cent-run-check "$CR check $WORK/run.yaml")"

if [ -z "$BENCH_ONLY" ]; then
  say "1b. cent-run end to end: $N_RUN_LARGE publishes (extra: fixed costs amortised)"
  start_server
  hyperfine --style basic --runs 3 --export-json "$WORK/cent-run-large.hf.json" -n "cent-run ($N_RUN_LARGE)" \
    "$(cr_run "$WORK/run-large.yaml") --report-json $WORK/report-large.json"
  check_report "$WORK/report-large.json" "$N_RUN_LARGE"
fi

# ---------------------------------------------------------------- 1c-1e. the hand-written program
# The yardstick: what a user would otherwise write by hand, bench/sdk on the
# official Rust SDK (crate cent): the same publishes as run.yaml (bench/gen.py),
# batches of $BATCH through the SDK's batch API, $CONC in flight, per-channel order
# kept (each task owns a disjoint set of channels), every reply checked (it exits
# non-zero on an error or missing reply, which fails hyperfine and so the script).
# Timed like cent-run: hyperfine, process start included, a fresh server each.
sdk_run() { # [--no-keys]
  echo "$SDK --url $URL --api-key $KEY --count $N_RUN --channels $CHANNELS --batch $BATCH --concurrency $CONC $*"
}
say "1c. sdk (keys): hand-written program on the cent SDK, idempotency key on every publish"
start_server
"${HF[@]}" --export-json "$WORK/sdk-keys.hf.json" -n "sdk (keys)" "$(timed sdk-keys "$(sdk_run)")"
say "1d. sdk (no keys): the same, without idempotency keys"
start_server
"${HF[@]}" --export-json "$WORK/sdk-nokeys.hf.json" -n "sdk (no keys)" "$(timed sdk-nokeys "$(sdk_run --no-keys)")"
say "1e. cent-run --no-idempotency end to end (compare with sdk (no keys))"
CR_HELP="$("$CR" --help 2>&1 || true)"  # captured: grep -q in a pipe could SIGPIPE it
if grep -q -- '--no-idempotency' <<<"$CR_HELP"; then
  start_server
  "${HF[@]}" --export-json "$WORK/cent-run-noidem.hf.json" -n "cent-run --no-idempotency" \
    "$(timed cent-run-noidem "$(cr_run "$WORK/run.yaml") --no-idempotency --report-json $WORK/report-noidem.json")"
  check_report "$WORK/report-noidem.json"
else
  echo "skipped: \`cent-run --help\` does not mention --no-idempotency (not implemented yet)"
fi

if [ -n "$BENCH_ONLY" ]; then
  echo
  echo "loadavg after: $(cat /proc/loadavg)"
  say "summary (BENCH_ONLY=$BENCH_ONLY)"
  python3 bench/summary.py "$WORK"
  exit 0
fi

# ---------------------------------------------------------------- 2. python
for mode in async threads; do
  say "2. python cent 5.x ($mode): same manifest, PyYAML CSafeLoader, batch $BATCH, concurrency $CONC"
  start_server
  : >"$WORK/py-$mode.times.jsonl"
  "${HF[@]}" --export-json "$WORK/py-$mode.hf.json" -n "python cent $mode" \
    "$PY bench/py_cent.py $mode $WORK/run.yaml $URL/api $KEY $BATCH $CONC 1 $WORK/py-$mode.times.jsonl"
  cat "$WORK/py-$mode.times.jsonl"
done
best="$(python3 - "$WORK" <<'EOF'
import json, sys
m = {k: json.load(open("%s/py-%s.hf.json" % (sys.argv[1], k)))["results"][0]["median"] for k in ("async", "threads")}
print(min(m, key=m.get))
EOF
)"
echo "python under /usr/bin/time -v ($best, the faster mode):"
start_server
/usr/bin/time -v -o "$WORK/py-$best.time.txt" \
  "$PY" bench/py_cent.py "$best" "$WORK/run.yaml" "$URL/api" "$KEY" "$BATCH" "$CONC" 1 "$WORK/py-time.jsonl" \
  || die "python client failed"
grep -E 'User time|System time|Elapsed|Maximum resident' "$WORK/py-$best.time.txt"

# ---------------------------------------------------------------- 3. wrk
# prebuilt: the raw limit as specified: fixed bodies, no client work, no keys.
# keyed:    pre-built too, with what cent-run sends: a unique idempotency key per
#           publish (cent-run keys every publish so retries are safe). Keys must
#           not repeat within the server's 5-minute cache, so every run gets a
#           fresh server and sends each body once (the script fails if it ran out).
wrk_run() { # MODE I SECONDS ARGS...
  local mode="$1" i="$2" secs="$3"
  shift 3
  wrk -t2 -c4 -d"${secs}s" --timeout 5s -s bench/wrk_batch.lua "$URL/api/batch" -- "$mode" "$@" \
    | tee "$WORK/wrk-$mode.$i.wrk.txt"
  grep -q '^bad responses: 0$' "$WORK/wrk-$mode.$i.wrk.txt" || die "wrk saw error replies"
  if grep -qE 'Non-2xx|Socket errors' "$WORK/wrk-$mode.$i.wrk.txt"; then die "wrk saw errors"; fi
}
say "3. wrk (prebuilt): 2 threads, 4 connections, ${WRK_SECONDS}s x 3"
start_server
for i in 1 2 3; do
  wrk_run prebuilt "$i" "$WRK_SECONDS" "$WORK/bodies" 8 "$KEY"
done
say "3. wrk (keyed): 2 threads, 4 connections, ${WRK_KEYED_SECONDS}s x 3, a fresh server each"
for i in 1 2 3; do
  start_server
  wrk_run keyed "$i" "$WRK_KEYED_SECONDS" "$WORK/keyed.ndjson" "$KEY" 2
  grep -q '^wrapped: 0$' "$WORK/wrk-keyed.$i.wrk.txt" \
    || die "wrk ran out of keyed bodies: raise WRK_KEYED_BODIES"
done

# ---------------------------------------------------------------- 4. check vs PyYAML
say "4. validate only: $N_CHECK mixed commands ($(wc -c <"$WORK/check.yaml") bytes), 3 runs each under /usr/bin/time -v"
"$CR" check "$WORK/check.yaml" | tail -1   # also the warm-up run: the file is in the page cache
PYPARSE="import sys, yaml; d = yaml.load(open(sys.argv[1], 'rb'), Loader=yaml.CSafeLoader); assert len(d['commands']) == $N_CHECK"
PYPARSE_NOGC="import gc; gc.disable(); $PYPARSE"
for i in 1 2 3; do
  /usr/bin/time -v -o "$WORK/check-100k.$i.time.txt" "$CR" check "$WORK/check.yaml" >/dev/null 2>&1 \
    || die "cent-run check exited non-zero"
  echo "cent-run check run $i: $(grep -E 'Elapsed|Maximum resident' "$WORK/check-100k.$i.time.txt" | tr -s ' \t\n' ' ')"
done
for i in 1 2 3; do
  /usr/bin/time -v -o "$WORK/pyyaml-100k.$i.time.txt" "$PY" -c "$PYPARSE" "$WORK/check.yaml" \
    || die "PyYAML parse failed"
  echo "PyYAML CSafeLoader run $i: $(grep -E 'Elapsed|Maximum resident' "$WORK/pyyaml-100k.$i.time.txt" | tr -s ' \t\n' ' ')"
done
# Informative, not a target: the same parse with Python's cyclic GC off (much of
# PyYAML's time on a big document is GC passes over the growing object graph).
for i in 1 2 3; do
  /usr/bin/time -v -o "$WORK/pyyaml-nogc-100k.$i.time.txt" "$PY" -c "$PYPARSE_NOGC" "$WORK/check.yaml" \
    || die "PyYAML parse failed"
  echo "PyYAML CSafeLoader, gc off, run $i: $(grep -E 'Elapsed|Maximum resident' "$WORK/pyyaml-nogc-100k.$i.time.txt" | tr -s ' \t\n' ' ')"
done

# ---------------------------------------------------------------- 5. batch size (extra)
say "5. extra: cent-run end to end by batch size (where the time goes)"
start_server
hyperfine --style basic --runs 3 --export-json "$WORK/batch-sweep.hf.json" \
  -L bs 25,100,400 "$CR $WORK/run.yaml --url $URL --api-key $KEY --batch-size {bs} --concurrency $CONC --retries 3 --quiet"

# ---------------------------------------------------------------- 6. scaling (extra)
say "6. extra: check time and peak memory by manifest size (memory must grow at most linearly)"
for kind in run check; do
  for n in 25000 50000 100000 200000; do
    extra=()
    [ "$kind" = run ] && extra=("$CHANNELS")
    python3 bench/gen.py "$kind" "$WORK/scale.yaml" "$n" "${extra[@]}"
    /usr/bin/time -v -o "$WORK/scale-$kind-$n.time.txt" "$CR" check "$WORK/scale.yaml" >/dev/null 2>&1 \
      || die "cent-run check exited non-zero"
    echo "$kind $n commands ($(wc -c <"$WORK/scale.yaml") bytes): $(grep -E 'Elapsed|Maximum resident' "$WORK/scale-$kind-$n.time.txt" | tr -s ' \t\n' ' ')"
  done
done

echo
echo "loadavg after: $(cat /proc/loadavg)"
say "summary"
python3 bench/summary.py "$WORK"
