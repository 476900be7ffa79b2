#!/usr/bin/env bash
# Memory and time at scale: the everyday bulk job, "disconnect every user listed
# in a file", as a `for_each` over 100,000 and 1,000,000 users, validated
# (`check`) and run end to end against a real Centrifugo 6.9.1 — and the 100k
# mixed manifest's `check`. Peak RSS and wall time from /usr/bin/time -v,
# median of BENCH_RUNS runs, contenders interleaved run by run.
#
#   bench/scale.sh                          # the working tree's release build
#   BENCH_BASE=/path/to/old/cent-run bench/scale.sh
#                                           # and another build side by side (ratios)
#
# Environment (all optional):
#   BENCH_CENT_RUN    the cent-run binary to measure (default: built here, release,
#                     into BENCH_TARGET_DIR, default target/bench)
#   BENCH_BASE        a second binary measured in the same rounds (e.g. the last release)
#   BENCH_RUNS        runs per measurement (default 3)
#   BENCH_OUT         raw output (default bench/results-scale-latest.txt)
#
# Exit code: non-zero when a run fails (a non-zero exit, a summary that is not
# all ok); missed targets are reported as FAIL in the summary, not as an error.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${BENCH_RUNS:-3}"
OUT="${BENCH_OUT:-$ROOT/bench/results-scale-latest.txt}"
exec > >(tee "$OUT") 2>&1
die() { echo "scale: $*" >&2; exit 1; }
say() { printf '\n### %s\n' "$*"; }

# shellcheck source=scripts/lib/apt.sh
source scripts/lib/apt.sh
apt_install /usr/bin/time time
scripts/install-centrifugo.sh >/dev/null
CF="$ROOT/.tools/bin/centrifugo"
if [ -n "${BENCH_CENT_RUN:-}" ]; then
  CR="$BENCH_CENT_RUN"
else
  TARGET_DIR="${BENCH_TARGET_DIR:-$ROOT/target/bench}"
  CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --locked --bin cent-run 2>&1 | tail -1
  CR="$TARGET_DIR/release/cent-run"
fi
declare -A BIN=([new]="$CR")
NAMES=(new)
if [ -n "${BENCH_BASE:-}" ]; then
  BIN[base]="$BENCH_BASE"
  NAMES+=(base)
fi

say "machine and builds"
date
echo "nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo || true); loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${NAMES[@]}"; do echo "$n: ${BIN[$n]} ($("${BIN[$n]}" --version))"; done
dirty=""
if git status --porcelain -- src Cargo.toml Cargo.lock | grep -q .; then dirty=" + uncommitted changes in src"; fi
echo "working tree: commit $(git rev-parse --short HEAD)$dirty"

WORK="$(mktemp -d /tmp/cent-run-scale.XXXXXX)"
SERVER=""
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT

say "inputs"
for n in 100000 1000000; do
  awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) printf "user-%07d\n", i }' >"$WORK/users-$n.txt"
  # shellcheck disable=SC2016 # `${item}` is for cent-run, not the shell
  printf 'commands:\n  - disconnect: {user: "${item}"}\n    for_each: {file: users-%s.txt}\n' "$n" >"$WORK/disconnect-$n.yaml"
  echo "disconnect-$n.yaml: for_each over $n users ($(wc -c <"$WORK/users-$n.txt") bytes)"
done
python3 bench/gen.py check "$WORK/mixed-100000.yaml" 100000
echo "mixed-100000.yaml: 100000 mixed commands ($(wc -c <"$WORK/mixed-100000.yaml") bytes)"

say "centrifugo"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
KEY=test-api-key-4f9c2b7e
"$CF" --config tests/centrifugo/config.json --http_server.port "$PORT" --http_server.address 127.0.0.1 \
  >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -fsS "$URL/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$URL/health" >/dev/null || die "centrifugo did not start"
echo "$("$CF" version) on $URL"

# measure NAME LABEL ARGS...: one run under /usr/bin/time; appends "label name seconds kB".
measure() {
  local name="$1" label="$2"
  shift 2
  local t="$WORK/time.txt"
  if ! /usr/bin/time -v -o "$t" "${BIN[$name]}" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt"; then
    cat "$WORK/err.txt" >&2
    tail -5 "$WORK/out.txt" >&2
    die "$name $label exited non-zero"
  fi
  local secs kb
  secs=$(awk -F': ' '/Elapsed/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$t")
  kb=$(awk -F': ' '/Maximum resident/ { print $2 }' "$t")
  echo "$label $name $secs $kb" >>"$WORK/results.txt"
  printf '%-22s %-5s %7.2f s %8.1f MB\n' "$label" "$name" "$secs" "$(echo "$kb / 1024" | bc -l)"
}

say "runs (interleaved: every contender once per round, $RUNS rounds)"
for round in $(seq 1 "$RUNS"); do
  echo "round $round, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
  for name in "${NAMES[@]}"; do
    measure "$name" check-mixed-100k check "$WORK/mixed-100000.yaml"
    for n in 100000 1000000; do
      measure "$name" "check-$n" check "$WORK/disconnect-$n.yaml"
      measure "$name" "run-$n" "$WORK/disconnect-$n.yaml" --url "$URL" --api-key "$KEY" --quiet
      # Exit 0 is "every command ok" (SPEC exit codes); --quiet prints nothing then.
      [ ! -s "$WORK/out.txt" ] || { head "$WORK/out.txt"; die "$name run-$n: --quiet printed something"; }
    done
  done
done

say "summary (medians)"
python3 - "$WORK/results.txt" "${NAMES[@]}" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, name, secs, kb = line.split()
    rows[(label, name)].append((float(secs), int(kb) / 1024))
names = sys.argv[2:]
med = {k: (statistics.median(s for s, _ in v), statistics.median(m for _, m in v)) for k, v in rows.items()}
labels = ["check-mixed-100k", "check-100000", "run-100000", "check-1000000", "run-1000000"]
print("%-18s" % "" + "".join("%-24s" % n for n in names) + ("new/base time, memory" if len(names) > 1 else ""))
for l in labels:
    cells = "".join("%6.2f s %8.1f MB        " % med[(l, n)] for n in names)
    ratio = ""
    if len(names) > 1:
        (tn, mn), (tb, mb) = med[(l, "new")], med[(l, "base")]
        ratio = "%.2fx time, %.2fx memory" % (tn / tb, mn / mb)
    print("%-18s%s%s" % (l, cells, ratio))
for n in names:
    for kind in ("check", "run"):
        small, large = med[(kind + "-100000", n)][1], med[(kind + "-1000000", n)][1]
        print("%s %s: %.0f bytes per command above the 100k run (from 100k to 1M: %.1f MB -> %.1f MB)"
              % (n, kind, (large - small) * 1048576 / 900000, small, large))
t = lambda l: med[(l, "new")]
print()
for ok, what in [
    (t("run-1000000")[1] < 250, "run of 1M disconnects under 250 MB: %.1f MB" % t("run-1000000")[1]),
    (t("check-1000000")[1] < 200, "check of 1M disconnects under 200 MB: %.1f MB" % t("check-1000000")[1]),
    (t("run-1000000")[0] <= 5.1, "run of 1M no slower than 5.1 s (measured by hand before): %.2f s" % t("run-1000000")[0]),
    (t("check-1000000")[0] <= 1.55, "check of 1M no slower than 1.55 s: %.2f s" % t("check-1000000")[0]),
    (t("check-mixed-100k")[0] < 1.0, "check of the 100k mixed manifest under 1 s: %.2f s" % t("check-mixed-100k")[0]),
]:
    print("%s  %s" % ("PASS" if ok else "FAIL", what))
PY
