#!/usr/bin/env bash
# Install the Debian packages the course needs: cairo/pango headers for manim,
# a TeX subset with dvisvgm for MathTex, and chromium for the browser tests
# and `course build --pdf`.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config
  libcairo2-dev libpango1.0-dev fonts-dejavu-core
  texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended dvisvgm
)
if [[ "${1:-}" == "--with-browser" ]]; then
  PACKAGES+=(chromium)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "system packages: all present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: this machine has no apt-get (not Debian/Ubuntu)." >&2
  echo "Install the equivalents of these packages with your system's package manager, then rerun:" >&2
  echo "  ${missing[*]}" >&2
  exit 1
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "error: installing system packages needs root. Run as root, or install:" >&2
    echo "  apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
