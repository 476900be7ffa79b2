#!/usr/bin/env bash
# The main job on a fresh machine: install Centrifugo if needed, build
# cent-run, start a local server with the test config, run
# examples/manifests/broadcast.yaml, show the report, stop the server.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MANIFEST="${1:-examples/manifests/broadcast.yaml}"

scripts/install-centrifugo.sh
cargo build --locked --bin cent-run

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
API_KEY="$(python3 -c 'import json; print(json.load(open("tests/centrifugo/config.json"))["http_api"]["key"])')"
LOG="$(mktemp)"
.tools/bin/centrifugo --config tests/centrifugo/config.json --http_server.port "$PORT" \
  --http_server.address 127.0.0.1 >"$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/health" >/dev/null || { echo "centrifugo did not start:" >&2; cat "$LOG" >&2; exit 1; }
echo "centrifugo 6.9.1 listening on 127.0.0.1:$PORT"
echo "\$ cent-run $MANIFEST"
set +e
CENTRIFUGO_URL="http://127.0.0.1:$PORT" CENTRIFUGO_API_KEY="$API_KEY" target/debug/cent-run "$MANIFEST"
code=$?
set -e
echo "exit code: $code"
exit "$code"
