#!/usr/bin/env bash
# Makes `redis-server` available for the cluster tests (tests/it/cluster.rs),
# which start their own throwaway Redis on a free loopback port. Installs
# Debian's `redis-server` package when the binary is missing; does nothing
# (and prints nothing) when it is already there.
set -euo pipefail

# shellcheck source=scripts/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
apt_install redis-server redis-server
redis-server --version
