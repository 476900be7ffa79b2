#!/usr/bin/env bash
# A throwaway virtualenv (.tools/venv, ignored by git) with the independent
# peers the tests compare against: the original `cent` 2.1.0 library (v1
# signing oracle), the `centrifuge-python` WebSocket SDK (a real subscriber),
# `junitparser` (an independent JUnit reader), and `jsonschema` + `pyyaml`
# (an independent check of `cent-run schema`), `zizmor` (a security linter
# for the GitHub Actions examples, tests/it/examples_ci.rs), and for
# tests/it/operators.rs: `playwright` (drives Debian's Chromium, from
# scripts/install-chromium.sh — its own browser download is never run),
# `prometheus_client` (Prometheus' own parser of the metrics file) and
# `pre-commit` (runs the repository's hook with `try-repo`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.tools/venv"
STAMP="$VENV/.cent-run-deps-4"
if [ -f "$STAMP" ]; then
  echo "python tools already installed in $VENV"
  exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet "cent==2.1.0" "centrifuge-python==0.7.0" "junitparser==5.0.3" "jsonschema==4.*" "pyyaml==6.*" "zizmor==1.32.0" \
  "playwright==1.65.2" "prometheus_client==0.26.0" "pre-commit==4.7.0"
touch "$STAMP"
echo "python tools installed in $VENV"
