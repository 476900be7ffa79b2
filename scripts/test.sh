#!/usr/bin/env bash
# Everything CI runs: install the real server and the Python peers if
# needed, check formatting and lints, run all tests (one test binary).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/install-centrifugo.sh
scripts/setup-python.sh
cargo fmt --all --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
