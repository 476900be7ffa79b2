#!/usr/bin/env bash
# Everything CI runs: install the real server and the Python peers if
# needed, check formatting, lints and the API docs, run all tests (one
# test binary).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/install-centrifugo.sh
scripts/install-redis.sh
scripts/setup-python.sh
cargo fmt --all --check
cargo clippy --locked --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps
cargo test --locked
cargo publish --dry-run --locked --quiet
