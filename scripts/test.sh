#!/usr/bin/env bash
# Everything CI runs: install the real server, the Python peers and the
# linters for the CI examples if needed, check formatting, lints and the
# API docs, run all tests (one test binary).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/install-centrifugo.sh
scripts/install-redis.sh
scripts/install-chromium.sh
scripts/setup-python.sh
scripts/install-linters.sh
cargo fmt --all --check
# The project's own scripts, held to shellcheck like the CI examples.
shellcheck -x -S warning scripts/*.sh scripts/lib/*.sh bench/*.sh examples/cron/*.sh .ci/run
cargo clippy --locked --all-targets -- -D warnings
# The library alone, as a user with `default-features = false` builds it.
cargo clippy --locked --lib --no-default-features -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps
cargo test --locked
cargo publish --dry-run --locked --quiet
