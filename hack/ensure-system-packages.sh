#!/usr/bin/env bash
# Make sure system binaries exist: hack/ensure-system-packages.sh BINARY:PACKAGE ...
# Installs missing ones with apt on Debian/Ubuntu (as root, or through sudo);
# elsewhere says which package to install and fails.
set -euo pipefail

missing=()
for pair in "$@"; do
  binary=${pair%%:*} package=${pair#*:}
  command -v "$binary" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
readarray -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "missing packages: ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2; exit 1
    fi
  fi
  echo "installing system packages: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing system packages: ${missing[*]}. Install them with your OS package manager" \
       "(on macOS: brew install prometheus alertmanager wrk hey)." >&2
  exit 1
fi
