#!/usr/bin/env bash
# A/B of two cent-run builds, side by side in one run (what a change bought):
#
#   bench/ab.sh OLD_BINARY NEW_BINARY      # output also saved to bench/ab-results.txt
#
# e.g. build the previous commit into a directory of its own:
#   mkdir /tmp/old && git archive REV | tar -x -C /tmp/old
#   (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old-target cargo build --release --bin cent-run)
#   bench/ab.sh /tmp/old-target/release/cent-run target/bench/release/cent-run
#
# Same inputs as bench/run.sh: `check` of the 100k mixed manifest and of
# 200,000 publishes, then 20,000 and 200,000 publishes end to end against a
# local Centrifugo (history off), a fresh server for every run (idempotency
# keys stay in its cache for 5 minutes). Every run under /usr/bin/time, the
# builds taking turns, AB_RUNS rounds (default 5): medians of wall time, CPU
# time (user+sys) and peak RSS, and new/old ratios. Needs what bench/run.sh
# installs (/usr/bin/time, Centrifugo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OLD="$(realpath "$1")"
NEW="$(realpath "$2")"
RUNS="${AB_RUNS:-5}"
cd "$ROOT"
exec > >(tee "${AB_OUT:-$ROOT/bench/ab-results.txt}") 2>&1
WORK="$(mktemp -d /tmp/cent-run-ab.XXXXXX)"
SERVER=""
stop_server() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    SERVER=""
  fi
}
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "old: $OLD ($("$OLD" --version))"
echo "new: $NEW ($("$NEW" --version)); source: commit $(git rev-parse --short HEAD)"
date
echo "nproc $(nproc); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
python3 bench/gen.py run "$WORK/run20k.yaml" 20000 20
python3 bench/gen.py run "$WORK/run200k.yaml" 200000 20
python3 bench/gen.py check "$WORK/check.yaml" 100000
ls -l "$WORK"/*.yaml | awk '{print $5, $9}'
python3 - tests/centrifugo/config.json "$WORK/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for ns in [c["channel"]["without_namespace"]] + c["channel"].get("namespaces", []):
    for k in ("history_size", "history_ttl", "force_recovery"):
        ns.pop(k, None)
json.dump(c, open(sys.argv[2], "w"))
PY
KEY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_api"]["key"])' "$WORK/config.json")"
start_server() {
  stop_server
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  .tools/bin/centrifugo --config "$WORK/config.json" --http_server.port "$PORT" --http_server.address 127.0.0.1 \
    >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
}
# measure LABEL BUILD ARGS...: one run under /usr/bin/time, appended to results.txt
measure() {
  local label="$1" build="$2"
  shift 2
  local bin="$OLD"
  [ "$build" = new ] && bin="$NEW"
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/t" "$bin" "$@" >/dev/null 2>"$WORK/err" \
    || { cat "$WORK/err"; echo "ab: $build $label exited non-zero" >&2; exit 1; }
  echo "$label $build $(cat "$WORK/t")" | tee -a "$WORK/results.txt"
}
for round in $(seq 1 "$RUNS"); do
  echo "round $round, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
  for build in old new; do
    measure "check-mixed-100k" "$build" check "$WORK/check.yaml"
    measure "check-200k-publishes" "$build" check "$WORK/run200k.yaml"
    for n in 20k 200k; do
      start_server
      measure "run-$n" "$build" "$WORK/run$n.yaml" --url "http://127.0.0.1:$PORT" --api-key "$KEY" \
        --batch-size 100 --concurrency 4 --retries 3 --quiet --report-json "$WORK/r.json"
      python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; assert s["ok"] == s["total"] == int(sys.argv[2]), s' \
        "$WORK/r.json" "${n%k}000"
    done
  done
done
echo
python3 - "$WORK/results.txt" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, build, wall, user, sys_, kb = line.split()
    rows[(label, build)].append((float(wall), float(user) + float(sys_), int(kb) * 1024 / 1e6))
med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in rows.items()}
print("%-22s %-30s %-30s %s" % ("medians", "old: wall / CPU / peak RSS", "new: wall / CPU / peak RSS", "new/old"))
for label in ["check-mixed-100k", "check-200k-publishes", "run-20k", "run-200k"]:
    o, n = med[(label, "old")], med[(label, "new")]
    cell = lambda m: "%6.3f s %6.3f s %7.1f MB" % tuple(m)
    print("%-22s %-30s %-30s wall %.2fx, CPU %.2fx, RSS %.2fx"
          % (label, cell(o), cell(n), n[0] / o[0], n[1] / o[1], n[2] / o[2]))
PY
