#!/usr/bin/env bash
# Installs the real Centrifugo server the tests and the demo run against:
# v6.9.1 built with `go install` from the Go module proxy, version-stamped,
# into .tools/bin (ignored by git). Does nothing when it is already there.
set -euo pipefail
VERSION=6.9.1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="$ROOT/.tools/bin"
BIN="$BIN_DIR/centrifugo"

if [ -x "$BIN" ] && "$BIN" version 2>/dev/null | grep -q "v$VERSION "; then
  echo "centrifugo $VERSION already installed at $BIN"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "error: Go (>= 1.26) is needed to build Centrifugo $VERSION; install it and re-run $0" >&2
  exit 1
fi
echo "building centrifugo $VERSION with $(go version) (a few minutes the first time)..."
mkdir -p "$BIN_DIR"
GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install \
  -ldflags "-X github.com/centrifugal/centrifugo/v6/internal/build.Version=$VERSION" \
  "github.com/centrifugal/centrifugo/v6@v$VERSION"
"$BIN" version
