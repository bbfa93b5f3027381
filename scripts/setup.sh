#!/usr/bin/env bash
# Set up this checkout: system packages, a virtual environment in .venv, and
# the course installed into it (editable). Idempotent: rerun it any time.
#   scripts/setup.sh          what `course build` needs
#   scripts/setup.sh --dev    also the test tools and chromium for browser tests
#   scripts/setup.sh --pdf    also Playwright and chromium for `course build --pdf`
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
PDF=0
[[ "${1:-}" == "--dev" ]] && DEV=1
[[ "${1:-}" == "--pdf" ]] && PDF=1

if [[ $DEV -eq 1 || $PDF -eq 1 ]]; then
  bash scripts/install-system-deps.sh --with-browser
else
  bash scripts/install-system-deps.sh
fi

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "error: Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11 and rerun." >&2
  exit 1
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "python: creating .venv"
  "$PY" -m venv .venv || {
    echo "error: could not create a virtual environment; on Debian/Ubuntu: apt-get install python3-venv" >&2
    exit 1
  }
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)

# PyTorch: keep whatever torch is already installed. Otherwise prefer a CPU
# build that pip can find locally (its find-links), then the ordinary index.
# Set TORCH_SPEC (e.g. "torch==2.5.1") or PIP_INDEX_URL to choose another build.
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  if [[ -n "${TORCH_SPEC:-}" ]]; then
    "${PIP[@]}" install "$TORCH_SPEC"
  elif "${PIP[@]}" install --no-index --no-deps "torch==2.13.0" 2>/dev/null; then
    "${PIP[@]}" install "torch==2.13.0"
  else
    "${PIP[@]}" install torch
  fi
fi

if [[ $DEV -eq 1 ]]; then
  "${PIP[@]}" install -e ".[dev]"
elif [[ $PDF -eq 1 ]]; then
  "${PIP[@]}" install -e ".[pdf]"
else
  "${PIP[@]}" install -e .
fi
echo "setup: done (.venv/bin/course is ready)"
