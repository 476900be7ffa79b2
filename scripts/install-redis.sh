#!/usr/bin/env bash
# Makes `redis-server` available for the cluster tests (tests/it/cluster.rs),
# which start their own throwaway Redis on a free loopback port. Installs
# Debian's `redis-server` package when the binary is missing; does nothing
# (and prints nothing) when it is already there.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "error: redis-server is missing and installing it needs root (no sudo found); run: apt-get install -y redis-server" >&2
    exit 1
  fi
  SUDO=(sudo)
fi

echo "installing redis-server (Debian package)..."
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update once and retry.
if ! "${SUDO[@]}" apt-get install -y -qq redis-server >/dev/null; then
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq redis-server >/dev/null
fi

if ! command -v redis-server >/dev/null 2>&1; then
  echo "error: redis-server still not on PATH after installing the redis-server package" >&2
  exit 1
fi
redis-server --version
