#!/usr/bin/env bash
# Makes Debian's `chromium` available for the HTML report tests
# (tests/it/operators.rs drive it headless through Playwright for Python,
# tests/py/html_report.py, with `executable_path=/usr/bin/chromium`;
# Playwright's own browser download is never used). Does nothing, and
# prints nothing, when it is already there.
set -euo pipefail
# shellcheck source=scripts/lib/apt.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
apt_install chromium chromium
chromium --version
