#!/usr/bin/env bash
# The linters the CI examples are held to (tests/it/examples_ci.rs):
#   - actionlint, pinned, built with `go install` from the Go module proxy
#     into .tools/bin (ignored by git);
#   - shellcheck (Debian package), which actionlint runs on every `run:`
#     script when it is on PATH, so the lint is as strict as it can be.
# zizmor comes from PyPI into .tools/venv (scripts/setup-python.sh).
# Does nothing, and prints nothing, when both are already there.
set -euo pipefail
# shellcheck source=scripts/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"
ACTIONLINT_VERSION=1.7.12
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="$ROOT/.tools/bin"
ACTIONLINT="$BIN_DIR/actionlint"

if ! { [ -x "$ACTIONLINT" ] && "$ACTIONLINT" -version 2>/dev/null | head -n 1 | grep -qx "v$ACTIONLINT_VERSION"; }; then
  if ! command -v go >/dev/null 2>&1; then
    echo "error: Go is needed to build actionlint $ACTIONLINT_VERSION; install it and re-run $0" >&2
    exit 1
  fi
  echo "building actionlint $ACTIONLINT_VERSION with $(go version)..."
  mkdir -p "$BIN_DIR"
  rm -f "$ACTIONLINT"   # another version: go install will not overwrite what it did not build
  GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
  "$ACTIONLINT" -version | head -n 1
fi

if ! command -v shellcheck >/dev/null 2>&1; then
  apt_install shellcheck shellcheck
  shellcheck --version | sed -n 2p
fi
