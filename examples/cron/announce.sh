#!/usr/bin/env bash
# Scheduled jobs, run from cron (see crontab): `announce.sh` sends
# /etc/cent-run/announce.yaml (CONFIG_DIR=/etc/cent-run), `announce.sh
# announce --tags morning` only its morning part (any arguments after the
# job go to cent-run), `announce.sh maintenance` the maintenance job
# (maintenance.yaml: warn, wait, disconnect, check presence). The run id is
# the job and the date, and the state file survives a crash: if the job is re-run the
# same day (by hand, or because the machine rebooted mid-run), commands that
# were applied are skipped and the rest are re-sent with the same
# idempotency keys. Exit codes: 0 ok, 1 rejected, 2 bad manifest, 3 network,
# 75 an earlier run still holds the lock (nothing sent).
#
# Each run also leaves a page for a person (`$JOB-$DAY.html`, self-contained)
# and metrics for Prometheus in the node exporter's textfile collector
# directory (written atomically, as the collector wants; labelled
# name="$JOB"). Alert when a job has not succeeded for 26 hours:
#   time() - cent_run_last_success_timestamp_seconds{name="announce"} > 26*3600
set -euo pipefail
JOB="${1:-announce}"
shift || true
DAY="$(date +%F)"
STATE_DIR="${STATE_DIR:-/var/lib/cent-run}"
METRICS_DIR="${METRICS_DIR:-/var/lib/node_exporter/textfile_collector}"
CONFIG_DIR="${CONFIG_DIR:-/etc/cent-run}"
mkdir -p "$STATE_DIR" "$METRICS_DIR"
# Keep the key out of the crontab and off the command line: read it from a
# root-only file (assigned apart from `export`, so that set -e stops here
# when the file is missing instead of running without a key).
CENTRIFUGO_API_KEY="$(cat "$CONFIG_DIR/api-key")"
export CENTRIFUGO_API_KEY
export CENTRIFUGO_URL="${CENTRIFUGO_URL:-http://localhost:8000}"
exec flock -n -E 75 "$STATE_DIR/$JOB.lock" \
  cent-run "$CONFIG_DIR/$JOB.yaml" \
    --var day="$DAY" \
    --run-id "$JOB-$DAY" \
    --state "$STATE_DIR/$JOB-$DAY.state" \
    --report-json "$STATE_DIR/$JOB-$DAY.json" \
    --report-html "$STATE_DIR/$JOB-$DAY.html" \
    --metrics-file "$METRICS_DIR/cent-run-$JOB.prom" \
    --metrics-name "$JOB" \
    --quiet "$@"
