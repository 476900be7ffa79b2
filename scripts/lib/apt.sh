# shellcheck shell=bash
# Sourced by the install scripts: `apt_install COMMAND PACKAGE` makes COMMAND
# available, installing Debian's PACKAGE when it is missing (with sudo when
# not root; one `apt-get update` and a retry when a fresh machine has no
# package lists yet). Prints nothing when COMMAND is already there; exits
# with a message saying what to run when it cannot install.
apt_install() {
  local cmd="$1" pkg="$2"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "error: $cmd is missing and installing it needs root (no sudo found); run: apt-get install -y $pkg" >&2
      exit 1
    fi
    sudo=(sudo)
  fi
  echo "installing $pkg (Debian package)..." >&2
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null; then
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
  fi
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "error: $cmd still not on PATH after installing the $pkg package" >&2
    exit 1
  fi
}
