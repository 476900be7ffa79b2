#!/usr/bin/env bash
# Checks that sdk-publish really publishes: a fresh Centrifugo (bench/run.sh's
# config, plus history large enough to hold every publication), sdk-publish
# with and without idempotency keys, then every channel's history read back
# (POST /api/history, limit -1): each publication exactly once, in order.
#
#   bench/sdk/verify.sh [COUNT] [CHANNELS]      # defaults 20000 20
#
# Needs .tools/bin/centrifugo (scripts/install-centrifugo.sh) and a release
# build of bench/sdk (cargo build --release --manifest-path bench/sdk/Cargo.toml).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
N="${1:-20000}"
CHANNELS="${2:-20}"
CENTRIFUGO="$ROOT/.tools/bin/centrifugo"
SDK="$ROOT/bench/sdk/target/release/sdk-publish"
WORK="$(mktemp -d /tmp/sdk-verify.XXXXXX)"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# bench/run.sh's config (history off) with history turned back on, big enough.
python3 - "$ROOT/tests/centrifugo/config.json" "$WORK/config.json" "$N" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
for ns in [c["channel"]["without_namespace"]] + c["channel"].get("namespaces", []):
    for k in ("history_size", "history_ttl", "force_recovery"):
        ns.pop(k, None)
c["channel"]["without_namespace"].update(history_size=int(sys.argv[3]), history_ttl="600s")
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
KEY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_api"]["key"])' "$WORK/config.json")"

for mode in keys no-keys; do
  if [ -n "$SERVER" ]; then kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; fi
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  URL="http://127.0.0.1:$PORT"
  "$CENTRIFUGO" --config "$WORK/config.json" --http_server.port "$PORT" --http_server.address 127.0.0.1 \
    >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -fsS "$URL/health" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "== $mode: centrifugo on $URL (history_size $N)"
  "$SDK" --url "$URL" --api-key "$KEY" --count "$N" --channels "$CHANNELS" $([ "$mode" = no-keys ] && echo --no-keys)
  python3 - "$URL" "$KEY" "$N" "$CHANNELS" <<'PY'
import json, sys, urllib.request
url, key, n, channels = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
total = 0
for c in range(channels):
    req = urllib.request.Request(url + "/api/history", method="POST",
        data=json.dumps({"channel": "bench-%d" % c, "limit": -1}).encode(),
        headers={"X-API-Key": key, "Content-Type": "application/json"})
    r = json.load(urllib.request.urlopen(req))
    assert "error" not in r, r
    pubs = r["result"].get("publications", [])
    got = [p["data"]["n"] for p in pubs]
    want = list(range(c, n, channels))
    assert got == want, "bench-%d: %d publications, first mismatch at %s" % (
        c, len(got), next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want))))
    assert all(p["data"] == {"n": p["data"]["n"], "text": "payload %d" % p["data"]["n"]} for p in pubs)
    offs = [int(p.get("offset", 0)) for p in pubs]
    assert offs == list(range(1, len(want) + 1)), "bench-%d: offsets not 1..%d" % (c, len(want))
    total += len(got)
assert total == n, (total, n)
print("history: %d publications over %d channels, each exactly once, in per-channel order" % (total, channels))
PY
done
