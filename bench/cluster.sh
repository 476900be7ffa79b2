#!/usr/bin/env bash
# One node vs two: 20,000 publishes over 20 channels (batch 100, concurrency 4,
# keys on) sent by cent-run to one Centrifugo node, then spread over two nodes
# of one cluster — both cases on the Redis engine (a redis-server shared by the
# nodes), history off, so only the number of nodes differs. hyperfine, 1
# warm-up + BENCH_RUNS runs each, interleaved; every run must end all ok.
#
# Honest about the machine: the client, both servers and Redis share the same
# 2 cores, so a second node adds no CPU here; on real machines it does.
#
#   bench/cluster.sh                 # the working tree's release build
#   BENCH_CENT_RUN=path bench/cluster.sh
#
# Output also goes to BENCH_OUT (default bench/results-cluster-latest.txt).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${BENCH_RUNS:-5}"
OUT="${BENCH_OUT:-$ROOT/bench/results-cluster-latest.txt}"
exec > >(tee "$OUT") 2>&1
die() { echo "cluster: $*" >&2; exit 1; }

scripts/install-centrifugo.sh >/dev/null
scripts/install-redis.sh >/dev/null
# shellcheck source=scripts/lib/apt.sh
source scripts/lib/apt.sh
apt_install hyperfine hyperfine
CF="$ROOT/.tools/bin/centrifugo"
if [ -n "${BENCH_CENT_RUN:-}" ]; then
  CR="$BENCH_CENT_RUN"
else
  CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$ROOT/target/bench}" cargo build --release --locked --bin cent-run 2>&1 | tail -1
  CR="${BENCH_TARGET_DIR:-$ROOT/target/bench}/release/cent-run"
fi
WORK="$(mktemp -d /tmp/cent-run-cluster.XXXXXX)"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

date
echo "nproc $(nproc); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$("$CR" --version); $("$CF" version); $(redis-server --version | cut -d' ' -f1-3)"
python3 bench/gen.py run "$WORK/run.yaml" 20000 20

RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --daemonize no \
  >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done

URLS=()
for i in 0 1; do
  PORT=$(free_port)
  python3 - tests/centrifugo/config.json "$WORK/node-$i.json" "$PORT" "node-$i" "redis://127.0.0.1:$RPORT" <<'PY'
import json, sys
src, dst, port, name, redis = sys.argv[1:]
c = json.load(open(src))
for ns in [c["channel"]["without_namespace"]] + c["channel"].get("namespaces", []):
    for k in ("history_size", "history_ttl", "force_recovery"):
        ns.pop(k, None)
c["http_server"] = {"port": int(port), "address": "127.0.0.1"}
c["node"] = {"name": name}
c["engine"] = {"type": "redis", "redis": {"address": [redis]}}
json.dump(c, open(dst, "w"), indent=2)
PY
  "$CF" --config "$WORK/node-$i.json" >"$WORK/node-$i.log" 2>&1 &
  PIDS+=($!)
  URLS+=("http://127.0.0.1:$PORT")
done
for u in "${URLS[@]}"; do
  for _ in $(seq 1 100); do curl -fsS "$u/health" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "$u/health" >/dev/null || die "$u did not start"
done
KEY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_api"]["key"])' tests/centrifugo/config.json)"
# The nodes must see each other before a run spreads over them.
for _ in $(seq 1 100); do
  n=$(curl -fsS -H "X-API-Key: $KEY" -d '{}' "${URLS[0]}/api/info" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["result"]["nodes"]))')
  [ "$n" = 2 ] && break
  sleep 0.2
done
[ "$n" = 2 ] || die "the nodes did not form one cluster"
echo "nodes: ${URLS[*]} (Redis engine on port $RPORT)"

ONE="$CR $WORK/run.yaml --url ${URLS[0]} --api-key $KEY --batch-size 100 --concurrency 4 --quiet --report-json $WORK/one.json"
TWO="$CR $WORK/run.yaml --url ${URLS[0]} --url ${URLS[1]} --api-key $KEY --batch-size 100 --concurrency 4 --quiet --report-json $WORK/two.json"
# Fresh run ids each time (the default), so no run is answered from the key cache of another.
hyperfine -N --style basic --warmup 1 --runs "$RUNS" --export-json "$WORK/hf.json" -n "1 node" "$ONE" -n "2 nodes" "$TWO"
python3 - "$WORK" <<'PY'
import json, statistics, sys
w = sys.argv[1]
for name in ("one", "two"):
    r = json.load(open("%s/%s.json" % (w, name)))
    s = r["summary"]
    assert s["ok"] == s["total"] == 20000, (name, s)
    nodes = sorted({c["node"] for c in r["commands"]})
    print("%s: all 20000 ok, served by %d node(s)" % (name, len(nodes)))
res = {x["command"]: statistics.median(x["times"]) for x in json.load(open(w + "/hf.json"))["results"]}
one, two = res["1 node"], res["2 nodes"]
print("median: 1 node %.3f s (%.0f cmd/s), 2 nodes %.3f s (%.0f cmd/s); 2 nodes / 1 node: %.2fx throughput"
      % (one, 20000 / one, two, 20000 / two, one / two))
PY
