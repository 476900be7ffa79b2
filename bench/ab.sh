#!/usr/bin/env bash
# A/B of two cent-run builds, side by side in one run (what a change bought):
#
#   bench/ab.sh OLD_BINARY NEW_BINARY      # output also saved to bench/ab-results.txt
#
# e.g. build the previous commit in a worktree:
#   git worktree add /tmp/old REV && (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old-target cargo build --release)
#   bench/ab.sh /tmp/old-target/release/cent-run target/bench/release/cent-run
#
# Same inputs as bench/run.sh; `check` on the 100k mixed manifest and on 100k
# publishes, then 20k and 100k publishes end to end on one local Centrifugo
# (history off). Needs what bench/run.sh installs (hyperfine, /usr/bin/time, Centrifugo).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OLD="$(realpath "$1")"
NEW="$(realpath "$2")"
cd "$ROOT"
exec > >(tee "${AB_OUT:-$ROOT/bench/ab-results.txt}") 2>&1
WORK="$(mktemp -d /tmp/cent-run-ab.XXXXXX)"
SERVER=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
echo "old: $OLD ($("$OLD" --version))"
echo "new: $NEW ($("$NEW" --version)); source: commit $(git rev-parse --short HEAD)"
date; echo "loadavg: $(cat /proc/loadavg)"
python3 bench/gen.py run "$WORK/run.yaml" 20000 20
python3 bench/gen.py run "$WORK/run100k.yaml" 100000 20
python3 bench/gen.py check "$WORK/check.yaml" 100000
hyperfine -N --style basic -w 1 -r 10 \
  -n "old check 100k mixed" "$OLD check $WORK/check.yaml" -n "new check 100k mixed" "$NEW check $WORK/check.yaml" \
  -n "old check 100k publishes" "$OLD check $WORK/run100k.yaml" \
  -n "new check 100k publishes" "$NEW check $WORK/run100k.yaml"
for b in OLD NEW; do
  /usr/bin/time -f "$b check 100k mixed: %e s, peak RSS %M KB" "${!b}" check "$WORK/check.yaml" >/dev/null 2>"$WORK/t"
  tail -1 "$WORK/t"
done
python3 - tests/centrifugo/config.json "$WORK/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for ns in [c["channel"]["without_namespace"]] + c["channel"].get("namespaces", []):
    for k in ("history_size", "history_ttl", "force_recovery"):
        ns.pop(k, None)
json.dump(c, open(sys.argv[2], "w"))
PY
KEY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_api"]["key"])' "$WORK/config.json")"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
.tools/bin/centrifugo --config "$WORK/config.json" --http_server.port "$PORT" --http_server.address 127.0.0.1 \
  >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
A="--url http://127.0.0.1:$PORT --api-key $KEY --batch-size 100 --concurrency 4 --retries 3 --quiet --report-json $WORK/r.json"
hyperfine -N --style basic -w 1 -r 6 -n "old run 20k" "$OLD $WORK/run.yaml $A" -n "new run 20k" "$NEW $WORK/run.yaml $A"
hyperfine -N --style basic -r 4 -n "old run 100k" "$OLD $WORK/run100k.yaml $A" -n "new run 100k" "$NEW $WORK/run100k.yaml $A"
for b in OLD NEW; do
  /usr/bin/time -f "$b run 100k: %e s, peak RSS %M KB" "${!b}" "$WORK/run100k.yaml" $A >/dev/null 2>"$WORK/t"
  tail -1 "$WORK/t"
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; assert s["ok"] == 100000, s' "$WORK/r.json"
done
